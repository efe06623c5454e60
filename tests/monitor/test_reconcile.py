"""What ended, on its own: the wrapper's files and the scheduler's verdict into the record."""

from __future__ import annotations

from pathlib import Path

from runner.monitor.reconcile import record_ended
from runner.runs import lifecycle
from runner.schedulers.base import ENDED, JobStatus
from runner.state import State
from tests.runs.fakes import make_run, task, wrapper_done


def submitted(tmp_path: Path, *tasks):
    run = make_run(tmp_path, list(tasks))
    for i, t in enumerate(run.record.tasks):
        lifecycle.submitted(run, t, str(i))
    return run


def test_an_ended_task_is_collected_with_its_outputs(tmp_path: Path) -> None:
    run = submitted(tmp_path, task("a", outputs=("out.txt",)))
    wrapper_done(run, "a", 0)
    (run.place("a").area.stage / "a" / "out.txt").write_text("42\n")
    record_ended(run, [(run.record.tasks[0], JobStatus(State.SUCCEEDED))])
    t = run.record.tasks[0]
    assert (t.state, t.exit_code) == (State.SUCCEEDED, 0)
    assert [o["path"] for o in t.outputs] == ["out.txt"]
    assert (run.results / "a" / "out.txt").read_text() == "42\n"


def test_a_missing_declared_output_fails_the_task(tmp_path: Path) -> None:
    run = submitted(tmp_path, task("a", outputs=("out.txt",)))
    wrapper_done(run, "a", 0)
    record_ended(run, [(run.record.tasks[0], ENDED)])
    t = run.record.tasks[0]
    assert t.state == State.FAILED and "'out.txt' was not produced" in t.reason


def test_the_exit_code_decides_when_the_scheduler_cannot(tmp_path: Path) -> None:
    run = submitted(tmp_path, task("a"), task("b", index=1))
    wrapper_done(run, "a", 0)
    wrapper_done(run, "b", 3)
    record_ended(run, [(run.record.tasks[0], None), (run.record.tasks[1], None)])
    assert [(t.state, t.reason) for t in run.record.tasks] == \
        [(State.SUCCEEDED, None), (State.FAILED, "exit code 3")]


def test_a_job_dropped_after_its_need_failed_is_cancelled(tmp_path: Path) -> None:
    run = submitted(tmp_path, task("a"), task("b", needs=("a",)))
    lifecycle.ended(run, run.record.tasks[0], State.FAILED, "exit code 1", {})
    record_ended(run, [(run.record.tasks[1], JobStatus(State.CANCELLED))])
    b = run.record.tasks[1]
    assert b.state == State.CANCELLED and b.reason == "a task it needs did not succeed"
