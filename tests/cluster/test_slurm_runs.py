"""Runs on a Slurm infrastructure through mso, for real: the test cluster behind the test sshd,
jobs owned by the unprivileged test user; faults injected from outside."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from runner import failpoints
from tests.cluster.test_ssh_runs import _experiment, _record
from tests.conftest import COUNTER_PY, ROOT, mso

pytestmark = pytest.mark.integration


def _start(repo: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runner", "-C", str(repo), "run", name],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait(condition, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def _sacct(args: list[str]) -> str:
    return subprocess.run(["sacct", "-X", "-P", "-n", *args], capture_output=True, text=True).stdout


def _job_ids(repo: Path, name: str) -> list[str]:
    try:
        return [t["job_id"] for t in _record(repo, name)["tasks"] if t["job_id"]]
    except (ValueError, FileNotFoundError):
        return []


def test_sweep_is_one_array_with_results(slurm: Path) -> None:
    ledger = _experiment(slurm, "sweep", "cluster", [f"p{i}" for i in range(6)])
    proc = mso("run", "sweep", repo=slurm, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rec = _record(slurm, "sweep")
    assert rec["state"] == "succeeded"
    ids = [t["job_id"] for t in rec["tasks"]]
    assert len({i.split("_")[0] for i in ids}) == 1, f"one array, got {ids}"
    assert Counter(ledger.read_text().split()) == {f"p{i}": 1 for i in range(6)}
    # slurmdbd learns of ended jobs a little after slurmctld, which mso asks first
    _wait(lambda: _sacct(["-o", "JobName,State", "-j", ids[0].split("_")[0]]).count("COMPLETED") == 6, 60)
    assert f"mso.{rec['run_id']}.main" in _sacct(["-o", "JobName", "-j", ids[0].split("_")[0]])
    for t in rec["tasks"]:
        assert t["outputs"][0]["path"] == "out.txt" and t["exit_code"] == 0


def test_non_zero_exit_and_scancel_from_outside(slurm: Path) -> None:
    exp = slurm / "experiments" / "faults.yaml"
    ledger = _experiment(slurm, "faults", "cluster", ["ok", "bad", "slow"])
    exp.write_text(exp.read_text() + "steps: [{name: main}]\n")
    exp.write_text(exp.read_text().replace("matrix: {label: [ok, bad, slow]}",
                   "matrix: {label: [ok, bad, slow], code: [0]}"))
    # bad exits 3, slow sleeps until cancelled: per-point values through two experiments' worth
    # of matrix are awkward, so the application reads them from the label
    (slurm / "applications" / "counter" / "count.py").write_text(COUNTER_PY.replace(
        "sys.exit(code)", "sys.exit(3 if label == 'bad' else code)").replace(
        "time.sleep(sleep)", "time.sleep(600 if label == 'slow' else sleep)"))
    proc = _start(slurm, "faults")
    _wait(lambda: ledger.exists() and "slow" in ledger.read_text())
    slow = next(t["job_id"] for t in _record(slurm, "faults")["tasks"] if t["parameters"]["label"] == "slow")
    subprocess.run(["scancel", slow], check=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    by_label = {t["parameters"]["label"]: t for t in _record(slurm, "faults")["tasks"]}
    assert by_label["ok"]["state"] == "succeeded"
    assert by_label["bad"]["state"] == "failed" and by_label["bad"]["reason"] == "exit code 3"
    assert by_label["slow"]["state"] == "failed"
    assert "cancel" in by_label["slow"]["reason"]


def test_sigkill_then_resume_gives_one_job_per_task(slurm: Path) -> None:
    ledger = _experiment(slurm, "resume", "cluster", [f"r{i}" for i in range(4)], sleep=3)
    proc = _start(slurm, "resume")
    _wait(lambda: len(_job_ids(slurm, "resume")) == 4)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = mso("run", "resume", repo=slurm, timeout=300)
    assert again.returncode == 0, again.stderr
    assert Counter(ledger.read_text().split()) == {f"r{i}": 1 for i in range(4)}
    rec = _record(slurm, "resume")
    name = f"mso.{rec['run_id']}.main"
    _wait(lambda: _sacct(["-o", "JobName,State", "--name", name]).count("COMPLETED") >= 4, 60)
    assert _sacct(["-o", "JobName", "--name", name]).split().count(name) == 4, "one job per task"


def test_slurmctld_restart_while_watching(slurm: Path) -> None:
    ledger = _experiment(slurm, "restart", "cluster", ["a", "b"], sleep=8)
    proc = _start(slurm, "restart")
    _wait(lambda: ledger.exists() and len(ledger.read_text().split()) == 2)
    pid = subprocess.run(["pgrep", "-x", "slurmctld"], capture_output=True, text=True).stdout.split()[0]
    os.kill(int(pid), signal.SIGTERM)
    time.sleep(2)
    subprocess.run([str(ROOT / ".ci/services/cluster-up")], check=True, capture_output=True)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert _record(slurm, "restart")["state"] == "succeeded"


def test_hybrid_chain_cluster_then_plain_host(slurm: Path) -> None:
    """MSO4SC's hybrid case: a step on the Slurm cluster, the next on a host without a
    scheduler, the first step's output carried across by mso."""
    app = slurm / "applications" / "counter.yaml"
    app.write_text(app.read_text() + "inputs:\n  previous: {description: earlier output, optional: true}\n")
    (slurm / "applications" / "counter" / "count.py").write_text(COUNTER_PY.replace(
        'open("out.txt", "w").write(label + "\\n")',
        'import os\nprev = "inputs/previous/out.txt"\n'
        'open("out.txt", "w").write((open(prev).read().strip() + "+" if os.path.exists(prev) else "") + label + "\\n")'))
    ledger = Path(f"/tmp/mso-test-{os.getpid()}-hybrid.ledger")
    ledger.unlink(missing_ok=True)
    (slurm / "experiments" / "hybrid.yaml").write_text(f"""\
name: hybrid
application: counter
infrastructure: cluster
parameters: {{ledger: '{ledger}'}}
matrix: {{label: [x, y]}}
steps:
  - {{name: simulate}}
  - name: post
    infrastructure: login
    needs: [simulate]
    inputs: {{previous: {{step: simulate, path: out.txt}}}}
""")
    proc = mso("run", "hybrid", repo=slurm, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rec = _record(slurm, "hybrid")
    by_id = {t["id"]: t for t in rec["tasks"]}
    assert "_" in by_id["simulate-0000"]["job_id"], "the first step ran as a Slurm array"
    assert by_id["post-0000"]["job_id"].split("@")[0].isdigit(), "the second ran as a plain process"
    folder = slurm / "results" / "hybrid" / rec["run_id"]
    assert (folder / "post-0000" / "out.txt").read_text() == "x+x\n"
    assert (folder / "post-0001" / "out.txt").read_text() == "y+y\n"
    plan = json.loads((folder / "plan.json").read_text())
    assert set(plan["work_dirs"]) == {"cluster", "login"}
    assert not any(Path(w).exists() for w in plan["work_dirs"].values())


@pytest.mark.parametrize("infra", ["cluster", "login"])
@pytest.mark.parametrize("point", failpoints.POINTS)
def test_killed_at_any_point_then_resumed_runs_each_task_once(slurm: Path, infra: str,
                                                             point: str) -> None:
    """SIGKILL before submitting, between submitting and recording it, while collecting: the
    next `mso run` gives exactly one execution per task, on a cluster and on a plain host."""
    name = f"crash-{infra}-{point}"
    ledger = _experiment(slurm, name, infra, ["a", "b", "c"])
    crashed = mso("run", name, repo=slurm, env={"MSO_FAILPOINT": point}, timeout=300)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    again = mso("run", name, repo=slurm, timeout=300)
    assert again.returncode == 0, again.stderr
    assert Counter(ledger.read_text().split()) == {"a": 1, "b": 1, "c": 1}
    rec = _record(slurm, name)
    assert rec["state"] == "succeeded" and all(t["outputs"] for t in rec["tasks"])


def _chain(repo: Path, name: str, labels: str) -> Path:
    """Two steps on the cluster; `post` reads `simulate`'s output; `bad` fails in `simulate`."""
    app = repo / "applications" / "counter.yaml"
    if "previous" not in app.read_text():
        app.write_text(app.read_text() + "inputs:\n  previous: {description: earlier output, optional: true}\n")
    (repo / "applications" / "counter" / "count.py").write_text(COUNTER_PY.replace(
        'open("out.txt", "w").write(label + "\\n")',
        'import os\nprev = "inputs/previous/out.txt"\n'
        'open("out.txt", "w").write((open(prev).read().strip() + "+" if os.path.exists(prev) else "") + label + "\\n")'
    ).replace("sys.exit(code)", "sys.exit(3 if label == 'bad' and not os.path.exists(prev) else code)"))
    ledger = Path(f"/tmp/mso-test-{os.getpid()}-{name}.ledger")
    ledger.unlink(missing_ok=True)
    (repo / "experiments" / f"{name}.yaml").write_text(f"""\
name: {name}
application: counter
infrastructure: cluster
parameters: {{ledger: '{ledger}', sleep: 3}}
matrix: {{label: [{labels}]}}
steps:
  - {{name: simulate}}
  - name: post
    needs: [simulate]
    inputs: {{previous: {{step: simulate, path: out.txt}}}}
""")
    return ledger


def test_steps_on_one_cluster_wait_in_the_queue_not_in_mso(slurm: Path) -> None:
    _chain(slurm, "queued", "x, y")
    proc = mso("run", "queued", repo=slurm, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rec = _record(slurm, "queued")
    by_id = {t["id"]: t for t in rec["tasks"]}
    for i in ("0000", "0001"):
        assert by_id[f"post-{i}"]["submitted"] < by_id[f"simulate-{i}"]["ended"], \
            "the second step was submitted while the first still ran (a scheduler dependency)"
    folder = slurm / "results" / "queued" / rec["run_id"]
    assert (folder / "post-0000" / "out.txt").read_text() == "x+x\n"
    assert (folder / "post-0001" / "out.txt").read_text() == "y+y\n"


def test_a_failed_step_cancels_what_waits_for_it_in_the_queue(slurm: Path) -> None:
    _chain(slurm, "broken", "ok, bad")
    proc = mso("run", "broken", repo=slurm, timeout=300)
    assert proc.returncode == 2, proc.stderr
    by_label = {(t["step"], t["parameters"]["label"]): t for t in _record(slurm, "broken")["tasks"]}
    assert by_label[("simulate", "bad")]["state"] == "failed"
    assert by_label[("post", "bad")]["state"] == "cancelled"
    assert by_label[("post", "bad")]["reason"] == "a task it needs did not succeed"
    assert by_label[("post", "ok")]["state"] == "succeeded"
    assert not subprocess.run(["squeue", "-h", "-u", "msotest", "-n",
                               f"mso.{_record(slurm, 'broken')['run_id']}.post"],
                              capture_output=True, text=True).stdout.strip(), "nothing left queued"
