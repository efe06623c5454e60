"""Per-point reuse on the test Slurm cluster: after one matrix value changes, the job array holds
only the points that run; the reused points keep the jobs they ran in."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.cluster.test_ssh_runs import _experiment
from tests.conftest import mso

pytestmark = pytest.mark.integration


def _records(repo: Path, name: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((repo / "results" / name).glob("*/run.json"))]


def _array_size(job: str) -> int:
    """How many elements Slurm's controller (or its accounting) knows in the array job."""
    out = subprocess.run(["sacct", "-X", "-P", "-n", "-o", "JobID", "-j", job],
                         capture_output=True, text=True).stdout.split()
    return len([j for j in out if j.startswith(f"{job}_")])


def test_a_changed_value_submits_an_array_of_the_new_points_only(slurm: Path) -> None:
    ledger = _experiment(slurm, "reuse", "cluster", ["a", "b", "c", "d"])
    first = mso("run", "reuse", repo=slurm, timeout=300)
    assert first.returncode == 0, first.stderr
    exp = slurm / "experiments" / "reuse.yaml"
    exp.write_text(exp.read_text().replace("[a, b, c, d]", "[a, b, c, e]"))
    second = mso("run", "reuse", repo=slurm, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "1 new, 3 reused, 0 failed before" in second.stderr
    assert Counter(ledger.read_text().split()) == {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1}
    before, after = _records(slurm, "reuse")
    ran = [t for t in after["tasks"] if not t.get("reused")]
    assert [t["parameters"]["label"] for t in ran] == ["e"]
    job = ran[0]["job_id"]
    assert job.split("_")[0] not in {t["job_id"].split("_")[0] for t in before["tasks"]}
    old_jobs = {t["parameters"]["label"]: t["job_id"] for t in before["tasks"]}
    assert all(t["job_id"] == old_jobs[t["parameters"]["label"]]
               for t in after["tasks"] if t.get("reused"))
    if "_" in job:   # an array: it holds the one point that runs
        deadline = time.monotonic() + 60
        while _array_size(job.split("_")[0]) == 0 and time.monotonic() < deadline:
            time.sleep(0.5)   # slurmdbd hears of a job a little after slurmctld
        assert _array_size(job.split("_")[0]) == 1
