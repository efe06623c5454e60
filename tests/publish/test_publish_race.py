"""Runners racing on one branch: the same experiment run by five clones at once, one run folder
published by two runners, and a conflict mso must leave to a person. Against a real bare remote."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import mso
from tests.publish.test_gitpush import clone, fake_run, git, remote  # noqa: F401 - the fixture

RUN = "20261125T000000Z-0a5ddbcc-0000c0de"
FOLDER = f"results/heat-sweep/{RUN}"


def test_run_ids_start_with_the_time_never_repeat_and_fit_a_job_name() -> None:
    from runner.plan.resolve import RunPlan
    from runner.schedulers import arrays
    plan = SimpleNamespace(spec_hash="0a5ddbcc" + "0" * 56)
    ids = [RunPlan.new_run_id(plan) for _ in range(100)]    # within a second or two
    assert len(set(ids)) == len(ids)      # (a pair repeats by chance in 1 of ~870,000 runs)
    assert all(re.fullmatch(r"\d{8}T\d{6}Z-0a5ddbcc-[0-9a-f]{8}", i) for i in ids), ids[0]
    name = f"mso.{ids[0]}.main-0000"
    assert arrays.safe("job name", name) == name
    day = f"{ids[0][:4]}-{ids[0][4:6]}-{ids[0][6:8]}"
    assert arrays.run_start(name) < day      # the accounting window still opens the day before


def test_five_clones_running_one_experiment_at_once_all_land(remote: Path, tmp_path: Path) -> None:
    repos = [clone(remote, tmp_path / f"w{i}") for i in range(5)]
    together = threading.Barrier(len(repos))

    def run(repo: Path):
        together.wait()
        return mso("run", "heat-sweep", "--force", repo=repo, timeout=300)

    def publish(repo: Path):
        together.wait()
        return mso("publish", "--retries", "30", repo=repo, timeout=300)

    with ThreadPoolExecutor(max_workers=len(repos)) as pool:
        ran = list(pool.map(run, repos))
        assert all(r.returncode == 0 for r in ran), [r.stderr[-600:] for r in ran]
        ids = [next((r / "results" / "heat-sweep").iterdir()).name for r in repos]
        published = list(pool.map(publish, repos))
    assert len(set(ids)) == 5, ids
    assert all(p.returncode == 0 for p in published), [p.stderr[-600:] for p in published]
    landed = git(remote, "ls-tree", "-r", "--name-only", "main", "results/heat-sweep").split()
    assert sorted(f.split("/")[2] for f in landed if f.endswith("/run.json")) == sorted(ids)
    for run_id in ids:
        landed_record = json.loads(git(remote, "show", f"main:results/heat-sweep/{run_id}/run.json"))
        assert landed_record["run_id"] == run_id and landed_record["state"] == "succeeded"


def record(repo: Path, state: str, updated: str) -> None:
    """The run folder FOLDER as one runner holds it: its record and a task's stdout."""
    folder = repo / FOLDER
    (folder / "main-0000").mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps(
        {"run_id": RUN, "experiment": "heat-sweep", "state": state, "updated": updated}) + "\n")
    (folder / "main-0000" / "stdout.txt").write_text(f"{state} at {updated}\n")


RUNNING_LATE = ("running", "2026-11-25T00:09:00Z")
SUCCEEDED = ("succeeded", "2026-11-25T00:05:00Z")
RUNNING_EARLY = ("running", "2026-11-25T00:01:00Z")


@pytest.mark.parametrize("first,second,kept", [
    (RUNNING_LATE, SUCCEEDED, SUCCEEDED),          # the finished record replaces the unfinished
    (SUCCEEDED, RUNNING_LATE, SUCCEEDED),          # an unfinished one never replaces it, however late
    (RUNNING_LATE, RUNNING_EARLY, RUNNING_LATE),   # neither finished: the later update stays
    (RUNNING_EARLY, RUNNING_LATE, RUNNING_LATE),
], ids=["finished-second", "finished-first", "stale-second", "fresher-second"])
def test_one_run_folder_published_by_two_runners(remote: Path, tmp_path: Path, first: tuple,
                                                 second: tuple, kept: tuple) -> None:
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    record(a, *first)
    record(b, *second)
    fake_run(b, "heat-sweep", "20261125T000001Z-0a5ddbcc-000000b1")   # b's own run comes along
    assert mso("publish", repo=a).returncode == 0
    proc = mso("publish", repo=b)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(git(remote, "show", f"main:{FOLDER}/run.json"))
    assert (shown["state"], shown["updated"]) == kept
    assert git(remote, "show", f"main:{FOLDER}/main-0000/stdout.txt") == f"{kept[0]} at {kept[1]}\n"
    files = git(remote, "ls-tree", "-r", "--name-only", "main", "results").split()
    assert "results/heat-sweep/20261125T000001Z-0a5ddbcc-000000b1/run.json" in files
    assert not rebasing(b) and git(b, "status", "--porcelain") == ""


def test_each_replayed_commit_that_conflicts_is_settled(remote: Path, tmp_path: Path) -> None:
    """b committed its run twice (an earlier publish that never pushed); both commits conflict
    with a's, the first loses to a's later update, the second wins by having finished."""
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    record(a, *RUNNING_LATE)
    assert mso("publish", repo=a).returncode == 0
    record(b, *RUNNING_EARLY)
    git(b, "add", "results")
    git(b, "commit", "-qm", "an earlier publish, never pushed")
    record(b, *SUCCEEDED)
    proc = mso("publish", repo=b)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(git(remote, "show", f"main:{FOLDER}/run.json"))["state"] == "succeeded"
    assert "never pushed" not in git(remote, "log", "--format=%s", "main")   # it became empty
    assert not rebasing(b)


def test_a_conflict_outside_the_run_folders_stops_the_publish(remote: Path, tmp_path: Path) -> None:
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    for repo, words in ((a, "Ana's notes\n"), (b, "Bo's notes\n")):
        (repo / "README.md").write_text(words)
        git(repo, "add", "README.md")
        git(repo, "commit", "-qm", "notes")
        fake_run(repo, "heat-sweep", f"20261125T000000Z-0a5ddbcc-{repo.name * 8}")
    assert mso("publish", repo=a).returncode == 0
    proc = mso("publish", repo=b)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert "README.md" in proc.stderr and "run `mso publish` again" in proc.stderr
    assert not rebasing(b) and (b / "README.md").read_text() == "Bo's notes\n"
    assert git(b, "log", "-1", "--format=%s").startswith("mso: results of heat-sweep/")
    assert git(remote, "show", "main:README.md") == "Ana's notes\n"
    assert "bbbbbbbb" not in git(remote, "ls-tree", "-r", "--name-only", "main", "results")


def rebasing(repo: Path) -> bool:
    return any((repo / ".git" / name).exists() for name in ("rebase-merge", "rebase-apply"))
