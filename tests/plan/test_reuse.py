"""Which points a run takes over: decide() over a history of recorded tasks."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from runner.plan import reuse
from runner.state import RunRecord, TaskRecord


def task(tid: str, identity: str, needs: tuple[str, ...] = ()) -> SimpleNamespace:
    return SimpleNamespace(id=tid, identity=identity, needs=needs)


def recorded(run_id: str, states: dict[str, str], reused: dict | None = None) -> tuple[Path, RunRecord]:
    tasks = [TaskRecord(f"t-{i}", "t", i, {}, state=s, identity=ident,
                        reused=(reused or {}).get(ident))
             for i, (ident, s) in enumerate(states.items())]
    return Path("results/x") / run_id, RunRecord(run_id, "x", "h", {}, {}, tasks)


def test_new_reused_failed_and_what_a_running_task_needs() -> None:
    past = reuse.history([recorded("r1", {"A1": "succeeded", "B1": "succeeded", "A2": "failed"}),
                          recorded("r2", {"A3": "cancelled", "A2": "failed"})])
    plan = [task("pre-0", "A1"), task("post-0", "B1", ("pre-0",)),    # both succeeded before
            task("pre-1", "B1"), task("post-1", "NEW", ("pre-1",)),   # post-1 changed: pre-1 runs
            task("pre-2", "A2"), task("pre-3", "A3")]
    d = reuse.decide(plan, past)
    assert sorted(d.reused) == ["post-0", "pre-0"]
    assert (d.new, d.failed_before, d.rerun) == (["post-1"], ["pre-2", "pre-3"], ["pre-1"])
    assert d.counts() == "1 new, 2 reused, 2 failed before, 1 succeeded before and rerun"
    assert d.reused["pre-0"].run == "r1" and d.reused["pre-0"].task == "t-0"
    forced = reuse.decide(plan, past, reuse.FORCE)
    assert forced.reused == {} and sorted(forced.rerun) == ["post-0", "pre-0", "pre-1"]


def test_a_success_later_wins_over_a_failure_and_a_reused_task_points_to_where_it_ran() -> None:
    past = reuse.history([recorded("r1", {"A": "failed"}), recorded("r2", {"A": "succeeded"}),
                          recorded("r3", {"A": "succeeded"}, {"A": {"run": "r2", "task": "t-0"}})])
    assert past.failed == set()
    source = past.succeeded["A"]
    assert (source.run, source.task, source.folder) == ("r2", "t-0", Path("results/x/r3/t-0"))


def test_a_task_id_that_leaves_its_folder_is_never_reused() -> None:
    folder, record = recorded("r1", {"A": "succeeded"})
    record.tasks[0].id = "../../etc"
    assert reuse.history([(folder, record)]).succeeded == {}
