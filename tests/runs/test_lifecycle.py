"""The run lifecycle's transitions, each on its own, on a scripted scheduler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner import state
from runner.errors import SchedulerError
from runner.runs import lifecycle
from runner.state import State
from tests.runs.fakes import ScriptedScheduler, make_run, task


def on_disk(run) -> dict:
    return json.loads((run.results / state.RECORD).read_text())


def test_submitted_queues_a_batch_task_and_adopted_says_so(tmp_path: Path) -> None:
    events: list[str] = []
    run = make_run(tmp_path, [task("a"), task("b", index=1)], events=events)
    a, b = run.record.tasks
    lifecycle.submitted(run, a, "7")
    lifecycle.submitted(run, b, "8", adopted=True)
    assert (a.state, a.job_id, b.state, b.job_id) == (State.QUEUED, "7", State.QUEUED, "8")
    assert a.submitted and run.dirty
    assert events == ["a: queued as 7", "b: adopted (submitted before the runner stopped)"]


def test_progressed_moves_only_between_queued_and_running(tmp_path: Path) -> None:
    run = make_run(tmp_path, [task("a")])
    a = run.record.tasks[0]
    assert not lifecycle.progressed(run, a, State.RUNNING)   # pending: not submitted yet
    lifecycle.submitted(run, a, "7")
    assert lifecycle.progressed(run, a, State.RUNNING) and a.state == State.RUNNING
    assert not lifecycle.progressed(run, a, State.RUNNING)
    assert not lifecycle.progressed(run, a, State.SUCCEEDED)  # ending is ended()'s, not this
    assert a.state == State.RUNNING


def test_need_failed_records_first_then_stops_the_queued_job(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a"), task("b", needs=("a",))], sched)
    a, b = run.record.tasks
    lifecycle.submitted(run, b, "9")
    order: list[str] = []
    sched.cancel = lambda ids: order.append(f"cancel {ids} while b is {b.state}")  # type: ignore
    lifecycle.need_failed(run, b)
    assert b.state == State.CANCELLED and b.reason == "a task it needs did not succeed"
    assert order == ["cancel ['9'] while b is cancelled"]
    lifecycle.need_failed(run, b)                        # already ended: nothing more
    assert len(order) == 1


def test_cancel_records_first_then_stops_the_jobs_and_removes_the_work_dirs(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a"), task("b", index=1)], sched)
    a, b = run.record.tasks
    lifecycle.submitted(run, a, "7")
    saw_on_disk: list[str] = []
    sched.cancel = lambda ids: saw_on_disk.append(on_disk(run)["tasks"][0]["state"])  # type: ignore
    assert lifecycle.cancel(run, "ana", "cancelled by ana") == 2
    assert saw_on_disk == ["cancelled"]                  # the record was saved before the stop
    record = on_disk(run)
    assert record["state"] == "cancelled" and record["cancelled_by"] == "ana"
    assert not (tmp_path / "work").exists()


def test_a_cancel_whose_stop_fails_is_recorded_and_names_the_jobs(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a")], sched)
    lifecycle.submitted(run, run.record.tasks[0], "7")

    def refuse(ids):
        raise SchedulerError("scancel failed")
    sched.cancel = refuse  # type: ignore
    with pytest.raises(SchedulerError, match=r"recorded as cancelled.*\(7\).*may still run"):
        lifecycle.cancel(run, "ana", "why")
    assert on_disk(run)["state"] == "cancelled"


def test_pause_is_saved_at_once_and_resumed_clears_it(tmp_path: Path) -> None:
    events: list[str] = []
    run = make_run(tmp_path, [task("a")], events=events)
    lifecycle.submitted(run, run.record.tasks[0], "7")
    lifecycle.pause(run, "host down")
    assert on_disk(run)["state"] == "paused" and on_disk(run)["reason"] == "host down"
    assert events[-1] == "a: paused: host down"
    lifecycle.resumed(run.record)
    assert run.record.state == State.RUNNING and run.record.reason is None


def test_stage_in_failed_fails_every_task(tmp_path: Path) -> None:
    run = make_run(tmp_path, [task("a"), task("b", index=1)])
    lifecycle.stage_in_failed(run, "stage-in failed: no such dataset")
    record = on_disk(run)
    assert record["state"] == "failed"
    assert {t["state"] for t in record["tasks"]} == {"failed"}


def test_close_keeps_work_dirs_of_an_unfinished_run(tmp_path: Path) -> None:
    run = make_run(tmp_path, [task("a")])
    lifecycle.close(run)
    assert (tmp_path / "work").exists()
    lifecycle.ended(run, run.record.tasks[0], State.SUCCEEDED, None, {"exit_code": 0})
    lifecycle.close(run)
    assert not (tmp_path / "work").exists()
