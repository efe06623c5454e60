"""Faults injected from outside while mso watches real Slurm jobs: each must end in the right
final state with a clear reason, and none may leave a run stuck in `running`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster.test_slurm_runs import _job_ids, _start, _wait
from tests.cluster.test_ssh_runs import _experiment, _record
from tests.conftest import COUNTER_PY, ROOT, mso

pytestmark = pytest.mark.integration


def _node(env: dict[str, str]) -> str:
    return env.get("MSO_TEST_NODE") or subprocess.run(
        ["sinfo", "-h", "-o", "%n"], capture_output=True, text=True).stdout.split()[0]


def _node_state(node: str) -> str:
    return subprocess.run(["sinfo", "-h", "-n", node, "-o", "%T"], capture_output=True,
                          text=True).stdout.strip()


def _release(job_ids: list[str]) -> None:
    """Requeued jobs wait ~2 min (BeginTime) before they may run again: let them go now."""
    for job in job_ids:
        subprocess.run(["scontrol", "update", f"jobid={job}", "starttime=now"], capture_output=True)


def test_walltime_exceeded_is_a_failure_with_its_reason(slurm: Path) -> None:
    ledger = _experiment(slurm, "timeout", "cluster", ["t"], sleep=600)
    exp = slurm / "experiments" / "timeout.yaml"
    exp.write_text(exp.read_text() + "resources: {walltime: '00:01:00'}\n")
    proc = mso("run", "timeout", repo=slurm, timeout=400)
    assert proc.returncode == 2, proc.stderr
    [task] = _record(slurm, "timeout")["tasks"]
    assert task["state"] == "failed" and "walltime exceeded" in task["reason"]
    assert ledger.read_text().split() == ["t"]


def test_a_job_over_its_memory_is_a_failure_out_of_memory(slurm: Path) -> None:
    """The test cluster enforces --mem (OverMemoryKill, .ci/services/cluster-up): a task that
    holds 400 MB for longer than a sample period under a 100 MB limit is killed."""
    ledger = _experiment(slurm, "hungry", "cluster", ["m"], sleep=15)
    exp = slurm / "experiments" / "hungry.yaml"
    exp.write_text(exp.read_text() + "resources: {memory: 100M}\n")
    (slurm / "applications" / "counter" / "count.py").write_text(COUNTER_PY.replace(
        "time.sleep(sleep)", "held = bytearray(400 << 20)\nheld[::4096] = b'x' * len(held[::4096])\n"
                             "time.sleep(sleep)"))
    proc = mso("run", "hungry", repo=slurm, timeout=300)
    assert proc.returncode == 2, proc.stderr
    [task] = _record(slurm, "hungry")["tasks"]
    assert task["state"] == "failed" and task["reason"] == "out of memory", task
    assert ledger.read_text().split() == ["m"]


def test_node_down_while_running_then_back(slurm: Path, cluster_env: dict[str, str]) -> None:
    node = _node(cluster_env)
    ledger = _experiment(slurm, "nodedown", "cluster", ["n"], sleep=15)
    proc = _start(slurm, "nodedown")
    _wait(lambda: ledger.exists() and ledger.read_text().split() == ["n"])
    try:
        subprocess.run(["scontrol", "update", f"nodename={node}", "state=down", "reason=mso-test"],
                       check=True)
        time.sleep(3)
    finally:  # with ReturnToService=2 slurmd may already have brought it back
        subprocess.run(["scontrol", "update", f"nodename={node}", "state=resume"], capture_output=True)
    _wait(lambda: _node_state(node) in ("idle", "mixed", "allocated"), 60)
    deadline = time.monotonic() + 240
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the run is stuck"
        _release(_job_ids(slurm, "nodedown"))
        time.sleep(2)
    rec = _record(slurm, "nodedown")
    [task] = rec["tasks"]
    assert rec["state"] in ("succeeded", "failed") and task["state"] in ("succeeded", "failed")
    if task["state"] == "failed":
        assert "node" in task["reason"]
    else:  # requeued by Slurm and run again, to the end
        assert ledger.read_text().split() == ["n", "n"] and task["exit_code"] == 0


def test_scontrol_requeue_runs_the_task_again(slurm: Path) -> None:
    ledger = _experiment(slurm, "requeue", "cluster", ["q"], sleep=10)
    proc = _start(slurm, "requeue")
    _wait(lambda: ledger.exists() and ledger.read_text().split() == ["q"])
    [job] = _job_ids(slurm, "requeue")
    subprocess.run(["scontrol", "requeue", job], check=True)
    deadline = time.monotonic() + 240
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the run is stuck"
        _release([job])
        time.sleep(2)
    [task] = _record(slurm, "requeue")["tasks"]
    assert task["state"] == "succeeded" and task["exit_code"] == 0
    assert ledger.read_text().split() == ["q", "q"], "the requeued job ran again"


def test_sshd_restarted_while_watching(slurm: Path) -> None:
    ledger = _experiment(slurm, "sshd", "cluster", ["a", "b"], sleep=8)
    proc = _start(slurm, "sshd")
    _wait(lambda: ledger.exists() and len(ledger.read_text().split()) == 2)
    pidfile = Path("/var/lib/mso-test/run/sshd.pid")
    os.kill(int(pidfile.read_text().split()[0]), signal.SIGTERM)
    # the sessions sshd already forked live on: end the runner's, as a restart of the host would
    subprocess.run(["pkill", "-TERM", "-u", "msotest", "-f", "sshd: msotest"], capture_output=True)
    time.sleep(1)
    subprocess.run([str(ROOT / ".ci/services/cluster-up")], check=True, capture_output=True)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert _record(slurm, "sshd")["state"] == "succeeded"


def test_wrong_key_is_refused_without_leaking_it(slurm: Path, tmp_path: Path) -> None:
    key = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    _experiment(slurm, "wrongkey", "cluster", ["k"])
    proc = mso("run", "wrongkey", repo=slurm, env={"MSO_TEST_KEY": key.read_text()})
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "auth" in proc.stderr.lower()
    body = key.read_text().splitlines()[1]
    assert body not in proc.stderr + proc.stdout
    assert not (slurm / "results" / "wrongkey").exists() or \
        _record(slurm, "wrongkey")["state"] in ("failed", "pending")
