"""Cancel follows the merge request, on the test cluster with real Slurm jobs: GitLab stopping a
merge-request pipeline's `mso run` (SIGTERM) cancels its runs, while on the default branch they
pause; the scheduled pipeline cancels the runs of a branch whose merge request (as the GitLab
stand-in says) was closed without merging, and leaves a merged one's alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.test_ssh_runs import _experiment, _record
from tests.conftest import ROOT, mso
from tests.publish.gitlab_standin import CI_VARS, GitLabStandIn

pytestmark = pytest.mark.integration

TOKEN = "standin-token-3b9d1c"
AUTHOR = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
          "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"}


def _env(**extra: str) -> dict[str, str]:
    """The test's environment without the machine's own GitLab variables, plus `extra`."""
    base = {k: v for k, v in os.environ.items() if k not in CI_VARS and not k.startswith(("CI_", "GITLAB_"))}
    return {**base, "PYTHONPATH": str(ROOT), **AUTHOR, **extra}


def _in_queue(job: str) -> bool:
    out = subprocess.run(["squeue", "-h", "-o", "%i", "-j", job], capture_output=True, text=True).stdout
    return job in out.split()


def _wait(condition, seconds: float = 90, what: str = "it") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _job(repo: Path, name: str) -> str:
    """The one task's Slurm job id, once the record names it and squeue lists it."""
    def queued() -> str | None:
        try:
            ids = [t["job_id"] for t in _record(repo, name)["tasks"] if t["job_id"]]
        except (ValueError, FileNotFoundError):
            return None
        return ids[0] if ids and _in_queue(ids[0]) else None
    _wait(queued, 90, f"a job of {name} in squeue")
    return queued()


def _terminated_run(repo: Path, name: str, env: dict[str, str]) -> tuple[str, subprocess.CompletedProcess]:
    """Start `mso run NAME` as the CI job would, wait for its job in squeue, send SIGTERM."""
    _experiment(repo, name, "cluster", ["a"], sleep=600)
    proc = subprocess.Popen([sys.executable, "-m", "runner", "-C", str(repo), "run", name],
                            env=_env(**env), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    job = _job(repo, name)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 10, "GitLab's grace before SIGKILL is about 10 s"
    return job, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_sigterm_in_a_merge_request_pipeline_cancels_the_jobs(slurm: Path) -> None:
    job, done = _terminated_run(slurm, "mr", {"CI_PIPELINE_SOURCE": "merge_request_event",
                                              "CI_MERGE_REQUEST_IID": "7", "CI_PIPELINE_ID": "555"})
    assert done.returncode == 130, done.stderr
    rec = _record(slurm, "mr")
    assert rec["state"] == "cancelled" and rec["cancelled_by"] == "gitlab"
    assert "merge request !7" in rec["reason"] and "pipeline 555" in rec["reason"]
    assert "cancelled or superseded" in rec["reason"]
    assert all(t["state"] == "cancelled" for t in rec["tasks"])
    _wait(lambda: not _in_queue(job), 60, f"job {job} to leave squeue")


def test_sigterm_on_the_default_branch_pauses_and_the_job_goes_on(slurm: Path) -> None:
    job, done = _terminated_run(slurm, "main", {"CI_PIPELINE_SOURCE": "push",
                                                "CI_COMMIT_BRANCH": "main", "CI_PIPELINE_ID": "556"})
    try:
        assert done.returncode == 130, done.stderr
        rec = _record(slurm, "main")
        assert rec["state"] == "paused" and not rec.get("cancelled_by")
        time.sleep(2)
        assert _in_queue(job), "a paused run's job goes on"
    finally:
        subprocess.run(["scancel", job])


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=_env()).stdout


def _branch_with_a_running_job(repo: Path, branch: str, name: str) -> str:
    """On `branch`: a run started and left running (--watch-for), its record pushed there, as a
    merge-request pipeline leaves it; back on main after. The job id."""
    _git(repo, "checkout", "-q", "-b", branch, "main")
    _experiment(repo, name, "cluster", ["a"], sleep=600)
    started = mso("run", name, "--watch-for", "2s", repo=repo, env=_env(), timeout=180)
    assert started.returncode == 0 and _record(repo, name)["state"] == "paused", started.stderr
    job = _job(repo, name)
    _git(repo, "add", "-A", "experiments", "results")
    _git(repo, "commit", "-q", "-m", f"{name} and its run")
    _git(repo, "push", "-q", "origin", branch)
    _git(repo, "checkout", "-q", "main")
    return job


def _on_origin(repo: Path, branch: str, name: str) -> dict:
    """The run record of `name` at origin's `branch` now."""
    _git(repo, "fetch", "-q", "origin", branch)
    [path] = [p for p in _git(repo, "ls-tree", "-r", "--name-only", "FETCH_HEAD", "--",
                              f"results/{name}").split() if p.endswith("/run.json")]
    return json.loads(_git(repo, "show", f"FETCH_HEAD:{path}"))


@pytest.fixture
def project(slurm: Path, tmp_path: Path) -> Path:
    """The cluster repository under git, main pushed to a bare origin."""
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    _git(slurm, "init", "-q", "-b", "main")
    (slurm / ".gitignore").write_text(".mso/\n")
    _git(slurm, "add", "-A")
    _git(slurm, "commit", "-q", "-m", "the example")
    _git(slurm, "remote", "add", "origin", str(bare))
    _git(slurm, "push", "-q", "origin", "main")
    return slurm


def test_the_scheduled_pipeline_cancels_the_runs_of_a_closed_merge_request(project: Path) -> None:
    closed = _branch_with_a_running_job(project, "abandoned", "closedrun")
    merged = _branch_with_a_running_job(project, "landed", "mergedrun")
    try:
        with GitLabStandIn(TOKEN) as gitlab:
            gitlab.merge_request_states = {7: ("abandoned", "closed"), 8: ("landed", "merged")}
            env = _env(**gitlab.env(MSO_GITLAB_TOKEN=TOKEN), CI_PIPELINE_SOURCE="schedule",
                       CI_COMMIT_BRANCH="main", CI_DEFAULT_BRANCH="main")
            env.pop("CI_MERGE_REQUEST_IID")
            done = mso("run", "--resume-only", repo=project, env=env, timeout=180)
            asked = [r.query for r in gitlab.requests if r.path.endswith("/merge_requests")]
        assert done.returncode == 0, done.stderr
        assert "merge request !7 was closed without merging: cancelled" in done.stderr
        assert sorted(asked) == ["source_branch=abandoned&state=all", "source_branch=landed&state=all"]
        _wait(lambda: not _in_queue(closed), 60, f"job {closed} to leave squeue")
        rec = _on_origin(project, "abandoned", "closedrun")
        assert rec["state"] == "cancelled" and rec["cancelled_by"] == "mso reconcile"
        assert rec["reason"] == "merge request !7 was closed without merging"
        assert _in_queue(merged), "a merged merge request's run is left as it is"
        assert _on_origin(project, "landed", "mergedrun")["state"] == "paused"
        assert _git(project, "worktree", "list").count("\n") == 1, "the worktree is gone"
    finally:
        subprocess.run(["scancel", closed, merged])
