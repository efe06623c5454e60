"""The watcher on its own: one status query per scheduler per poll, completion from both
witnesses, pause on an unreachable host."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from runner.errors import TransportError
from runner.monitor.watcher import SETTLE, SETTLE_BACKOFF, Watcher
from runner.runs.active import ActiveRun
from runner.schedulers.base import JobStatus
from runner.state import State
from tests.runs.fakes import INFRA, ScriptedScheduler, make_run, task, wrapper_done


def test_one_status_query_covers_every_run_on_a_scheduler(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    runs = [make_run(tmp_path / str(i), [task("a"), task("b", index=1)], sched) for i in range(3)]
    w = Watcher(runs)
    w.tick()                     # submits; the first poll comes with it
    assert len(sched.called("status")) == 1
    assert len(sched.called("status")[0]) == 6


def test_infrastructures_on_one_login_share_one_status_query(tmp_path: Path) -> None:
    debug, long = ScriptedScheduler(), ScriptedScheduler(replace(INFRA, partition="long"))
    long.transport = debug.transport          # as the Context gives two partitions of a cluster
    other = ScriptedScheduler()               # another login: asked on its own
    runs = [make_run(tmp_path / "d", [task("a")], debug), make_run(tmp_path / "l", [task("b")], long),
            make_run(tmp_path / "o", [task("c")], other)]
    Watcher(runs).tick()
    asked = debug.called("status") + long.called("status")
    assert len(asked) == 1 and len(asked[0]) == 2
    assert len(other.called("status")) == 1


def _running(tmp_path: Path) -> tuple[ScriptedScheduler, ActiveRun, Watcher, str]:
    """One task, submitted by a first tick, that its scheduler now says is running."""
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a")], sched)
    w = Watcher([run])
    w.tick()
    job = run.record.tasks[0].job_id
    sched.jobs[job] = JobStatus(State.RUNNING)
    return sched, run, w, job


def test_a_task_ends_when_the_scheduler_says_so_and_is_saved(tmp_path: Path) -> None:
    sched, run, w, job = _running(tmp_path)
    w.tick()
    assert run.record.tasks[0].state == State.RUNNING
    wrapper_done(run, "a", 0)
    sched.jobs[job] = JobStatus(State.SUCCEEDED)
    w.tick()
    assert run.record.tasks[0].state == State.SUCCEEDED and run.finished and w.done()
    assert '"state": "succeeded"' in (run.results / "run.json").read_text()


def test_a_running_job_is_not_ended_by_its_exit_file_alone(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a")], sched)
    w = Watcher([run])
    w.tick()
    sched.jobs[run.record.tasks[0].job_id] = JobStatus(State.RUNNING)
    wrapper_done(run, "a", 0)
    w.tick()
    assert run.record.tasks[0].state == State.RUNNING


def test_a_forgotten_job_ends_by_its_exit_file(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a"), task("b", index=1)], sched)
    w = Watcher([run])
    w.tick()
    sched.jobs.clear()           # the scheduler forgot both (no accounting, MinJobAge passed)
    wrapper_done(run, "a", 0)
    w.tick()
    a, b = run.record.tasks
    assert a.state == State.SUCCEEDED and b.state == State.QUEUED   # b: keep watching


def test_an_unreachable_scheduler_pauses_its_runs(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a")], sched)
    w = Watcher([run])
    w.tick()

    def down(jobs):
        raise TransportError("connection reset", transient=True)
    sched.status = down  # type: ignore
    w.timers.clear()
    w.tick()
    assert run.record.state == State.PAUSED and run.record.tasks[0].state == State.QUEUED
    assert w.done()


def test_a_connection_lost_under_a_status_query_is_asked_again_once(tmp_path: Path) -> None:
    sched, run, w, job = _running(tmp_path)
    answer, calls = sched.status, []

    def dropped_once(jobs):
        calls.append(sorted(jobs))
        if len(calls) == 1:
            raise TransportError("connection lost while running squeue", transient=True)
        return answer(jobs)
    sched.status = dropped_once  # type: ignore
    w.timers.clear()
    w.tick()
    assert calls == [[job], [job]]
    assert run.record.state != State.PAUSED and run.record.tasks[0].state == State.RUNNING


def test_on_tick_false_stops_watching(tmp_path: Path) -> None:
    run = make_run(tmp_path, [task("a")])
    ticks: list[int] = []
    Watcher([run], lambda submits: ticks.append(submits) or False).run()
    assert ticks == [1] and run.record.tasks[0].state == State.QUEUED


def test_an_end_the_accounting_has_not_recorded_is_waited_for(tmp_path: Path) -> None:
    sched = ScriptedScheduler()
    run = make_run(tmp_path, [task("a")], sched)
    w = Watcher([run])
    w.tick()
    a = run.task("a")
    sched.jobs[a.job_id] = JobStatus(State.SUCCEEDED, provisional=True)   # sacct lags
    wrapper_done(run, "a", 0)
    w.tick()
    assert a.state == State.QUEUED                          # ended, not recorded yet
    sched.jobs[a.job_id] = JobStatus(State.SUCCEEDED, usage={"cpu_s": 1.0, "source": "sacct"})
    w.tick()
    assert a.state == State.SUCCEEDED and a.usage["source"] == "sacct"


def _lagging(tmp_path: Path, still_running: bool) -> tuple[Watcher, ScriptedScheduler]:
    """Two tasks, polled every 5 s; a's end is told by the scheduler, not yet by its accounting;
    b has ended too, or still runs."""
    sched = ScriptedScheduler(replace(INFRA, poll_min=5.0, poll_max=60.0))
    run = make_run(tmp_path, [task("a"), task("b", index=1)], sched)
    w = Watcher([run])
    w.tick()
    a, b = run.task("a"), run.task("b")
    sched.jobs[a.job_id] = JobStatus(State.SUCCEEDED, provisional=True)
    sched.jobs[b.job_id] = JobStatus(State.RUNNING) if still_running else JobStatus(State.SUCCEEDED)
    wrapper_done(run, "a", 0)
    if not still_running:
        wrapper_done(run, "b", 0)
    w.timers.clear()
    w.tick()
    return w, sched


def test_when_only_the_accounting_is_awaited_it_is_asked_again_soon_then_less_soon(tmp_path: Path) -> None:
    w, sched = _lagging(tmp_path, still_running=False)
    [timer] = w.timers.values()
    assert timer.settling and timer.interval == SETTLE      # b was recorded; a's accounting lags
    timer.due = 0.0
    w.tick()
    assert timer.settling and timer.interval == SETTLE * SETTLE_BACKOFF
    for _ in range(20):
        timer.due = 0.0
        w.tick()
    assert timer.interval == 5.0                             # backed off to poll_min, no further


def test_a_job_still_running_keeps_the_usual_interval(tmp_path: Path) -> None:
    w, sched = _lagging(tmp_path, still_running=True)
    [timer] = w.timers.values()
    assert not timer.settling and timer.interval == 5.0
