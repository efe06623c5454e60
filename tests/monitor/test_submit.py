"""Starting what is ready, on its own: batches per step, adoption, limits, failed needs."""

from __future__ import annotations

from pathlib import Path

from runner.errors import SchedulerError, TransportError
from runner.monitor.submit import start_ready
from runner.runs import lifecycle
from runner.schedulers.base import JobStatus
from runner.state import State
from tests.runs.fakes import ScriptedScheduler, make_run, task


def groups(run):
    sched = run.places["fake"].scheduler
    return {id(sched): (sched, [(run, run.tasks_on("fake"))])}


def test_a_step_s_ready_tasks_go_as_one_batch_and_later_steps_wait(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a-0", "a", 0), task("a-1", "a", 1),
                              task("b-0", "b", 0, needs=("a-0",))], sched)
    assert start_ready(groups(run)) == 1
    assert sched.called("submit") == [[f"mso.{run.record.run_id}.a-0", f"mso.{run.record.run_id}.a-1"]]
    assert [t.state for t in run.record.tasks] == [State.QUEUED, State.QUEUED, State.PENDING]


def test_a_scheduler_that_chains_gets_the_next_step_at_once(tmp_path: Path) -> None:
    sched = ScriptedScheduler(chains=True)
    run = make_run(tmp_path, [task("a-0", "a"), task("b-0", "b", needs=("a-0",))], sched)
    start_ready(groups(run))   # a-0 is submitted in this tick ...
    start_ready(groups(run))   # ... so b-0 goes in the next, held by the scheduler
    assert [t.state for t in run.record.tasks] == [State.QUEUED, State.QUEUED]


def test_jobs_a_dead_runner_submitted_are_adopted_not_submitted_again(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a")], sched)
    sched.names[run.job("a").name] = "42"
    assert start_ready(groups(run)) == 0
    assert sched.called("submit") == [] and run.record.tasks[0].job_id == "42"


def test_max_parallel_is_respected(tmp_path: Path) -> None:
    from tests.runs.fakes import INFRA
    import dataclasses
    sched = ScriptedScheduler(dataclasses.replace(INFRA, max_parallel=2))
    run = make_run(tmp_path, [task(f"t{i}", index=i) for i in range(5)], sched)
    start_ready(groups(run))
    assert sum(t.state == State.QUEUED for t in run.record.tasks) == 2


def test_a_task_whose_need_failed_is_skipped(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a-0", "a"), task("b-0", "b", needs=("a-0",))], sched)
    lifecycle.ended(run, run.record.tasks[0], State.FAILED, "exit code 1", {})
    start_ready(groups(run))
    assert run.record.tasks[1].state == State.CANCELLED and sched.called("submit") == []


def test_a_refused_submission_fails_the_batch(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    sched.refuse = SchedulerError("sbatch: invalid partition")
    run = make_run(tmp_path, [task("a")], sched)
    start_ready(groups(run))
    t = run.record.tasks[0]
    assert t.state == State.FAILED and "invalid partition" in t.reason


def test_an_unreachable_host_pauses_the_run_and_fails_nothing(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    sched.refuse = TransportError("connection reset", transient=True)
    run = make_run(tmp_path, [task("a")], sched)
    start_ready(groups(run))
    assert run.record.state == State.PAUSED and run.record.tasks[0].state == State.PENDING


def test_a_run_this_process_created_submits_without_looking_for_jobs_first(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a")], sched)
    run.unsure = set()   # as runs/create.py makes it: nothing can have been submitted yet
    assert start_ready(groups(run)) == 1
    assert sched.called("find") == [] and run.record.tasks[0].state == State.QUEUED


def test_tasks_whose_submission_broke_off_are_looked_for_before_the_next_try(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a"), task("b", index=1)], sched)
    run.unsure = set()
    sched.refuse = TransportError("connection reset", transient=True)
    start_ready(groups(run))
    assert run.unsure == {"a", "b"} and sched.called("find") == []
    sched.refuse, run.record.state = None, State.RUNNING   # the host is back
    sched.names[run.job("a").name] = "42"                  # sbatch had taken `a` after all
    start_ready(groups(run))
    assert sched.called("find") == [[run.job("a").name, run.job("b").name]]
    assert run.task("a").job_id == "42" and sched.called("submit")[-1] == [run.job("b").name]


def test_a_site_limit_keeps_what_it_took_and_the_rest_waits_for_room(tmp_path: Path) -> None:
    sched, events = ScriptedScheduler(), []
    sched.cap = 1   # the site takes one queued job at a time
    run = make_run(tmp_path, [task("a"), task("b", index=1), task("c", index=2)], sched, events)
    run.unsure = set()
    start_ready(groups(run))
    a, b, c = run.task("a"), run.task("b"), run.task("c")
    assert a.state == State.QUEUED and a.reason is None
    assert (b.state, c.state) == (State.PENDING, State.PENDING)
    assert "AssocMaxSubmitJobLimit" in b.reason and b.reason == c.reason
    assert [e for e in events if "waits" in e] == [f"b: waits (and 1 more task): {b.reason}"]
    assert sched.called("cancel") == []            # nothing queued is given up
    start_ready(groups(run))                       # still no room: refused again, told once
    assert b.state == State.PENDING and len([e for e in events if "waits" in e]) == 1
    sched.jobs[a.job_id] = JobStatus(State.SUCCEEDED)   # a leaves the queue
    a.state = State.SUCCEEDED
    start_ready(groups(run))
    assert b.state == State.QUEUED and b.reason is None and c.state == State.PENDING
    assert run.unsure == set()                      # a refusal is sure: nothing to look for

