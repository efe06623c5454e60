"""`mso run` in a pipeline: stop watching after a time limit and resume later without running
anything twice, resume only, run only what changed, a dry run when the infrastructure's secrets
are missing (a fork's merge request), and publishing the records once jobs are submitted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import counter_experiment, mso

CLUSTER = """\
name: cluster
kind: slurm
host: login.cluster.invalid
user: {env: MSO_TEST_HPC_USER}
key: {env: MSO_TEST_HPC_KEY}
known_hosts: {env: MSO_TEST_HPC_KNOWN_HOSTS}
work_root: /scratch/mso
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], check=True, capture_output=True, text=True).stdout


def records(repo: Path, experiment: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((repo / "results" / experiment).glob("*/run.json"))]


def test_watch_for_leaves_jobs_running_and_a_resume_finishes_them_once(counter: Path) -> None:
    ledger = counter_experiment(counter, "slow", ["a", "b"], sleep=3)
    first = mso("run", "slow", "--watch-for", "1s", "--json", repo=counter)
    assert first.returncode == 0, first.stdout + first.stderr    # waiting is not a failure
    out = json.loads(first.stdout)
    assert out["runs"][0]["waiting"] is True
    [record] = records(counter, "slow")
    assert record["state"] == "paused" and "--watch-for" in record["reason"]
    assert {t["state"] for t in record["tasks"]} <= {"queued", "running"}
    # nothing new starts with --resume-only; the run found is watched to its end
    again = mso("run", "--resume-only", repo=counter)
    assert again.returncode == 0, again.stdout + again.stderr
    [record] = records(counter, "slow")
    assert record["state"] == "succeeded"
    assert sorted(ledger.read_text().split()) == ["a", "b"]      # each task ran once
    assert not (counter / "results" / "heat-sweep").exists()   # --resume-only started nothing


def test_missing_secrets_fail_or_give_a_dry_run(example: Path) -> None:
    (example / "infrastructures" / "cluster.yaml").write_text(CLUSTER)
    exp = (example / "experiments" / "heat-sweep.yaml").read_text()
    (example / "experiments" / "heat-cluster.yaml").write_text(
        exp.replace("name: heat-sweep", "name: heat-cluster").replace(
            "infrastructure: local", "infrastructure: cluster"))
    refused = mso("run", "heat-cluster", repo=example)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert ("heat-cluster needs MSO_TEST_HPC_KEY, MSO_TEST_HPC_KNOWN_HOSTS, MSO_TEST_HPC_USER"
            in refused.stderr)
    dry = mso("run", "heat-cluster", "--without-credentials", "dry-run", repo=example,
              env={"MSO_TEST_HPC_USER": "ana"})
    assert dry.returncode == 0, dry.stderr
    assert "heat-cluster: dry run only, MSO_TEST_HPC_KEY, MSO_TEST_HPC_KNOWN_HOSTS not set" in dry.stderr
    assert "#SBATCH" in dry.stdout and "dry run" in dry.stdout
    assert not (example / "results" / "heat-cluster").exists()


def test_changed_since_runs_only_what_changed(counter: Path) -> None:
    counter_experiment(counter, "one", ["a"])
    git(counter, "init", "-q")
    git(counter, "add", "-A")
    git(counter, "commit", "-qm", "base")
    counter_experiment(counter, "two", ["b"])
    proc = mso("run", "--changed-since", "HEAD", "--json", repo=counter)
    assert proc.returncode == 0, proc.stderr
    assert [r["experiment"] for r in json.loads(proc.stdout)["runs"]] == ["two"]


def test_publish_pushes_the_records_after_submitting_and_at_the_end(counter: Path, tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    counter_experiment(counter, "pub", ["a", "b"], sleep=1)
    git(counter, "init", "-q", "-b", "main")
    git(counter, "add", "-A")
    git(counter, "commit", "-qm", "base")
    git(counter, "remote", "add", "origin", str(bare))
    proc = mso("run", "pub", "--publish", "--junit", str(tmp_path / "runs.xml"), repo=counter)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    subjects = git(bare, "log", "--format=%s", "main").splitlines()
    assert subjects[0].startswith("mso: results of pub/")
    assert subjects[1] == "mso: run records after submitting"
    submitted = json.loads(git(bare, "show", f"main~1:{next(iter(_run_json(bare)))}"))
    assert all(t["job_id"] for t in submitted["tasks"] if t["state"] != "pending")
    assert 'tests="2"' in (tmp_path / "runs.xml").read_text()


def _run_json(bare: Path) -> list[str]:
    names = git(bare, "ls-tree", "-r", "--name-only", "main~1").split()
    return [n for n in names if n.endswith("/run.json")]
