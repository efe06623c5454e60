"""Runs on an `ssh` infrastructure (a host without a scheduler), for real: through the test
sshd, as the unprivileged test user, with the work dir on the remote side."""

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

from tests.conftest import ROOT, mso

pytestmark = pytest.mark.integration


def _ledger(name: str) -> Path:
    path = Path(f"/tmp/mso-test-{os.getpid()}-{name}.ledger")
    path.unlink(missing_ok=True)
    return path


def _experiment(repo: Path, name: str, infra: str, labels: list[str], sleep: float = 0) -> Path:
    ledger = _ledger(name)
    (repo / "experiments" / f"{name}.yaml").write_text(
        f"name: {name}\napplication: counter@1\ninfrastructure: {infra}\n"
        f"parameters: {{ledger: '{ledger}', sleep: {sleep}}}\n"
        f"matrix: {{label: [{', '.join(labels)}]}}\n")
    return ledger


def _record(repo: Path, name: str) -> dict:
    [path] = sorted((repo / "results" / name).glob("*/run.json"))
    return json.loads(path.read_text())


@pytest.fixture
def remote(slurm: Path) -> Path:
    """The repository with the counter application and the test cluster's two infrastructures."""
    return slurm


def test_sweep_runs_remotely_as_the_test_user(remote: Path) -> None:
    ledger = _experiment(remote, "remote", "login", ["a", "b", "c"])
    proc = mso("run", "remote", repo=remote)
    assert proc.returncode == 0, proc.stderr
    rec = _record(remote, "remote")
    assert rec["state"] == "succeeded"
    assert rec["work_dir"].startswith("/home/msotest/mso-work/")
    assert Counter(ledger.read_text().split()) == {"a": 1, "b": 1, "c": 1}
    assert ledger.stat().st_uid != 0, "tasks ran as the test user, not as root"
    folder = remote / "results" / "remote" / rec["run_id"]
    for t in rec["tasks"]:
        assert (folder / t["id"] / "out.txt").read_text() == t["parameters"]["label"] + "\n"
        assert [o["path"] for o in t["outputs"]] == ["out.txt"]
        assert "counted" in (folder / t["id"] / "stdout.txt").read_text()
    assert not Path(rec["work_dir"]).exists(), "the remote work dir is removed after collection"


def test_sigkill_then_resume_over_ssh(remote: Path) -> None:
    ledger = _experiment(remote, "resume", "login", [f"t{i}" for i in range(4)], sleep=2)
    proc = subprocess.Popen([sys.executable, "-m", "runner", "-C", str(remote), "run", "resume"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (ledger.exists() and ledger.read_text().split()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = mso("run", "resume", repo=remote)
    assert again.returncode == 0, again.stderr
    assert Counter(ledger.read_text().split()) == {f"t{i}": 1 for i in range(4)}
    assert _record(remote, "resume")["state"] == "succeeded"


def test_unknown_host_key_is_refused_with_advice(remote: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    _experiment(remote, "refused", "login", ["a"])
    proc = mso("run", "refused", repo=remote, env={"MSO_TEST_KNOWN_HOSTS": str(empty)})
    assert proc.returncode == 1, proc.stderr
    assert "ssh-keyscan" in proc.stderr and "Traceback" not in proc.stderr
