"""The reconcile's parts without a cluster: which merge request's closing ends a branch's runs,
GitLab's list of a branch's merge requests through the stand-in, and finding unfinished runs on
other branches from git alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.publish.abandoned import closed_without_merging, reconcile
from runner.publish.gitlab import GitLab, GitLabError, MergeRequest
from runner.runs import branches
from runner.state import RunRecord, TaskRecord
from tests.publish.gitlab_standin import GitLabStandIn

TOKEN = "standin-token-8c1e"


def test_only_the_newest_closed_with_none_open_ends_the_runs() -> None:
    closed, merged, opened = MergeRequest(9, "closed"), MergeRequest(8, "merged"), MergeRequest(9, "opened")
    assert closed_without_merging([closed, merged]) == closed
    assert closed_without_merging([MergeRequest(10, "merged"), closed]) is None
    assert closed_without_merging([opened, MergeRequest(3, "closed")]) is None
    assert closed_without_merging([MergeRequest(4, "locked")]) is None
    assert closed_without_merging([]) is None


def test_merge_requests_of_a_branch_newest_first() -> None:
    with GitLabStandIn(TOKEN) as server:
        server.merge_request_states = {3: ("x", "closed"), 5: ("x", "merged"), 4: ("y", "opened")}
        gitlab = GitLab(server.api_url, server.project, TOKEN)
        assert gitlab.merge_requests("x") == [MergeRequest(5, "merged"), MergeRequest(3, "closed")]
        assert gitlab.merge_requests("none") == []
        [asked] = [r for r in server.requests if r.query.startswith("source_branch=none")]
        assert asked.path == "/api/v4/projects/42/merge_requests" and "state=all" in asked.query
        bad = GitLab(server.api_url, server.project, "wrong")
        with pytest.raises(GitLabError, match="merge requests of branch x: HTTP 401"):
            bad.merge_requests("x")


def test_without_gitlab_variables_nothing_is_looked_at(tmp_path: Path) -> None:
    said: list[str] = []
    assert reconcile(tmp_path, said.append, env={"CI_PROJECT_ID": "42"}) == []
    assert said == ["not looking for closed merge requests: CI_API_V4_URL, MSO_GITLAB_TOKEN not set"]


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@l", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@l", "HOME": str(repo), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout


def _record(folder: Path, run_id: str, state: str) -> None:
    rec = RunRecord(run_id, "exp", "ab" * 32, {"name": "app", "version": "1"},
                    {"name": "local", "kind": "local"}, [TaskRecord("main-0000", "main", 0, {}, state=state)])
    rec.state = rec.derive_state().value
    (folder / "results" / "exp" / run_id).mkdir(parents=True)
    (folder / "results" / "exp" / run_id / "run.json").write_text(rec.to_json())


def test_unfinished_runs_are_found_on_the_remotes_branches(tmp_path: Path) -> None:
    """Fetched and read with ls-tree and show, no checkout; finished runs and a damaged record
    are left out; the mso repository may be a folder of the git repository."""
    bare, work = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    _git(tmp_path, "clone", "-q", str(bare), str(work))
    root = work / "lab"
    root.mkdir()
    (root / "README").write_text("x\n")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "main")
    _git(work, "push", "-q", "origin", "HEAD:main")
    _git(work, "checkout", "-q", "-b", "feature")
    _record(root, "20260101T000000Z-0000000a", "running")
    _record(root, "20260101T000000Z-0000000b", "succeeded")
    (root / "results" / "exp" / "broken").mkdir()
    (root / "results" / "exp" / "broken" / "run.json").write_text("{not json")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "runs")
    _git(work, "push", "-q", "origin", "feature")
    _git(work, "checkout", "-q", "main")
    [found] = branches.with_unfinished_runs(root)
    assert found.name == "feature" and [r.run_id for r in found.runs] == ["20260101T000000Z-0000000a"]
    assert found.commit == _git(work, "rev-parse", "origin/feature").strip()
