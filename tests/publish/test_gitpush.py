"""`mso publish` against a real bare git remote: commit as the bot, push with ci.skip, survive
races by rebasing, and never let a token out."""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, ROOT, mso

GIT_ID = ["-c", "user.name=Ana", "-c", "user.email=ana@example.org"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *GIT_ID, *args], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare remote that accepts push options and records them, holding the example."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(bare, "config", "receive.advertisePushOptions", "true")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\nenv | grep "^GIT_PUSH_OPTION_[0-9]" >> "$GIT_DIR/push-options"\n'
                    "cat > /dev/null\n")
    hook.chmod(0o755)
    seed = tmp_path / "seed"
    subprocess.run(["git", "clone", "-q", str(bare), str(seed)], check=True, capture_output=True)
    import shutil
    for folder in EXAMPLE:
        shutil.copytree(ROOT / folder, seed / folder)
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "example")
    git(seed, "push", "-q", "origin", "HEAD:main")
    return bare


def clone(remote: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(remote), str(where)], check=True, capture_output=True)
    return where


def fake_run(repo: Path, experiment: str, run_id: str) -> None:
    folder = repo / "results" / experiment / run_id
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"run_id": run_id}) + "\n")


def test_publish_commits_as_the_bot_and_pushes_with_ci_skip(remote: Path, tmp_path: Path) -> None:
    repo = clone(remote, tmp_path / "work")
    assert mso("run", "heat-sweep", repo=repo).returncode == 0
    (repo / "README.local").write_text("not results: stays uncommitted\n")
    proc = mso("publish", "--json", repo=repo)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["pushed"] and out["attempts"] == 1
    log = git(remote, "log", "-1", "--format=%an <%ae>%n%s%n%b", "main")
    assert log.startswith("mso bot <mso-bot@localhost>\nmso: results of heat-sweep/")
    assert "[skip ci]" in log
    assert "GIT_PUSH_OPTION_0=ci.skip" in (remote / "push-options").read_text()
    files = git(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert any(f.startswith("results/heat-sweep/") and f.endswith("/run.json") for f in files)
    assert "README.local" not in files
    again = mso("publish", repo=repo)
    assert again.returncode == 0 and again.stdout.strip() == "nothing to publish"


def test_an_empty_datasets_folder_does_not_stop_a_publish(remote: Path, tmp_path: Path) -> None:
    repo = clone(remote, tmp_path / "work")
    shutil.rmtree(repo / "datasets")
    (repo / "datasets").mkdir()                 # git has never seen it: no pathspec matches
    fake_run(repo, "heat-sweep", "r1")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "drop datasets")
    fake_run(repo, "heat-sweep", "r2")
    proc = mso("publish", repo=repo)
    assert proc.returncode == 0, proc.stderr
    assert "results/heat-sweep/r2/run.json" in git(remote, "ls-tree", "-r", "--name-only", "main")


def test_a_merged_results_pipeline_publishes_onto_the_branch_not_the_merge(remote: Path,
                                                                          tmp_path: Path) -> None:
    """GitLab checks out a merge of the target into the branch; the results must land on the
    branch's own tip, without the target's changes (which would merge them into the branch)."""
    seed = clone(remote, tmp_path / "author")
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm"]
    git(seed, "checkout", "-qb", "feature")
    (seed / "experiments" / "note.txt").write_text("the branch's change\n")
    git(seed, "add", "-A")
    git(seed, *commit, "feature work")
    git(seed, "push", "-q", "origin", "feature")
    git(seed, "checkout", "-q", "main")
    (seed / "datasets" / "target.txt").write_text("the target's change\n")
    git(seed, "add", "-A")
    git(seed, *commit, "target work")
    git(seed, "push", "-q", "origin", "main")
    job = clone(remote, tmp_path / "job")           # what the runner checks out: the merge
    git(job, "checkout", "-q", "--detach", "origin/feature")
    git(job, "-c", "user.name=t", "-c", "user.email=t@t", "merge", "-q", "--no-edit", "origin/main")
    fake_run(job, "heat-sweep", "r1")
    env = {"CI_MERGE_REQUEST_EVENT_TYPE": "merged_result", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME":
           "feature", "CI_COMMIT_REF_NAME": "refs/merge-requests/1/merge"}
    proc = mso("publish", repo=job, env=env)
    assert proc.returncode == 0, proc.stderr
    assert git(remote, "log", "--format=%s", "feature").splitlines() == [
        "mso: results of heat-sweep/r1", "feature work", "example"]     # no merge came along
    files = git(remote, "ls-tree", "-r", "--name-only", "feature").split()
    assert "results/heat-sweep/r1/run.json" in files and "datasets/target.txt" not in files
    assert "target work" not in git(remote, "log", "--format=%s", "feature")


def test_a_remote_without_push_options_still_gets_the_commit(remote: Path, tmp_path: Path) -> None:
    git(remote, "config", "receive.advertisePushOptions", "false")
    repo = clone(remote, tmp_path / "work")
    fake_run(repo, "heat-sweep", "20261125T000000Z-00000001")
    assert mso("publish", repo=repo).returncode == 0
    assert "[skip ci]" in git(remote, "log", "-1", "--format=%B", "main")


def test_twenty_concurrent_publishes_all_land(remote: Path, tmp_path: Path) -> None:
    repos = [clone(remote, tmp_path / f"w{i}") for i in range(20)]
    for i, repo in enumerate(repos):
        fake_run(repo, "heat-sweep", f"20261125T0000{i:02d}Z-{i:08x}")

    def publish(repo: Path) -> subprocess.CompletedProcess:
        return mso("publish", "--json", "--retries", "30", repo=repo, timeout=300)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(publish, repos))
    assert all(r.returncode == 0 for r in results), [(r.returncode, r.stdout[-300:], r.stderr[-600:]) for r in results if r.returncode]
    landed = git(remote, "ls-tree", "-r", "--name-only", "main", "results/heat-sweep").split()
    assert len([f for f in landed if f.endswith("run.json")]) == 20
    assert max(json.loads(r.stdout)["attempts"] for r in results) > 1, "the race was exercised"


def test_a_token_never_leaves_the_environment(remote: Path, tmp_path: Path) -> None:
    repo = clone(remote, tmp_path / "work")
    fake_run(repo, "heat-sweep", "20261125T000000Z-00000002")
    canary = "glpat-CANARY-0123456789abcdef"
    proc = mso("publish", "--token-env", "MSO_PUSH_TOKEN", repo=repo, env={"MSO_PUSH_TOKEN": canary})
    assert proc.returncode == 0, proc.stderr
    assert canary not in proc.stdout + proc.stderr
    assert canary not in (repo / ".git" / "config").read_text()
    assert canary not in git(remote, "log", "-p", "main")
    idle = mso("publish", "--token-env", "NO_SUCH_TOKEN_VAR", repo=repo)
    assert idle.returncode == 0 and idle.stdout.strip() == "nothing to publish"
    fake_run(repo, "heat-sweep", "20261125T000000Z-00000003")
    missing = mso("publish", "--token-env", "NO_SUCH_TOKEN_VAR", repo=repo)
    assert missing.returncode == 1 and "NO_SUCH_TOKEN_VAR" in missing.stderr


def test_outside_git_is_a_clear_error(example: Path) -> None:
    proc = mso("publish", repo=example)
    assert proc.returncode == 1 and "not in a git repository" in proc.stderr


@pytest.mark.parametrize("code,out,err,raced", [
    (1, "To r\n!\tHEAD:refs/heads/main\t[rejected] (fetch first)\nDone\n", "", True),
    (1, "", "error: cannot lock ref 'refs/heads/main'", True),
    (-13, "", "", True),                     # SIGPIPE: the remote hung up mid-pack
    (128, "", "fatal: Authentication failed for 'https://x/'", False),
    (1, "", "remote: GitLab: You are not allowed to push code to protected branches", False),
])
def test_what_counts_as_losing_a_race(code: int, out: str, err: str, raced: bool) -> None:
    from runner.publish.gitpush import _raced
    assert _raced(code, out, err) is raced
