"""The one lifecycle of a run and its tasks: every change of state is made here and nowhere else.

Which moves are legal is runner/state.py's table (ALLOWED); this module says when each is made,
what is recorded with it, and in what order it goes with stopping jobs:

    task: pending -> queued|running   submitted(), or adopted after a crash (submitted(adopted=True))
          pending, with a reason      waiting(): a site's limit on queued jobs holds it back
          queued <-> running          progressed(), as the scheduler says
          queued|running -> succeeded|failed|cancelled   ended() (runner/runs/completion.py decides)
          pending|queued -> cancelled need_failed(): a task it needs did not succeed
          pending -> failed           submit_failed(), stage_in_failed()
          unfinished -> failed        host_lost(): the cloud server it ran on is gone
    run:  -> paused                   pause(): a host is unreachable, or the runner stops watching;
                                      the jobs go on, and the next `mso run` resumes (resumed())
          -> cancelled                cancel(): by a person, or on an interrupt when asked

Cancelling RECORDS FIRST, then stops the jobs: a runner watching the same run in another process
reads "cancelled" before it sees the jobs die, so it never records them as failed; if stopping
then fails, the error names the jobs that may still run.
"""

from __future__ import annotations

from runner.errors import MsoError, SchedulerError
from runner.runs import cloudhosts
from runner.runs.active import ActiveRun
from runner.runs.completion import NEED_FAILED
from runner.state import RunRecord, State, TaskRecord, now
from runner.words import plural

ACTIVE = (State.QUEUED, State.RUNNING)


def submitted(run: ActiveRun, task: TaskRecord, job_id: str, adopted: bool = False) -> None:
    """The task's job is in the scheduler's hands (a local process starts at once)."""
    task.job_id, task.submitted, task.reason = job_id, task.submitted or now(), None
    local = run.place(task.id).infra.kind == "local"
    task.move(State.RUNNING if local else State.QUEUED)
    note = "started" if local else f"queued as {job_id}"
    run.changed(task, "adopted (submitted before the runner stopped)" if adopted else note)


def waiting(run: ActiveRun, tasks: list[TaskRecord], why: str) -> None:
    """Ready tasks that a site's limit holds back stay pending, and say why (told once)."""
    fresh = [t for t in tasks if t.state == State.PENDING and t.reason != why]
    for t in fresh:
        t.reason = why
    if fresh:
        others = f" (and {plural(len(fresh) - 1, 'more task')})" if len(fresh) > 1 else ""
        run.changed(fresh[0], f"waits{others}: {why}")


def progressed(run: ActiveRun, task: TaskRecord, to: State) -> bool:
    """Queued to running (or back, when requeued), as the scheduler says; whether it moved."""
    if task.state not in ACTIVE or to not in ACTIVE or not task.move(to):
        return False
    run.changed(task, to.value)
    return True


def ended(run: ActiveRun, task: TaskRecord, to: State, reason: str | None, record: dict) -> None:
    """The task ended (as completion.outcome decided), with what its wrapper and collection
    recorded: exit_code, started, ended, peak_memory_kb, outputs."""
    for key, value in record.items():
        setattr(task, key, value)
    task.move(to, reason)
    words = {State.SUCCEEDED: "succeeded", State.CANCELLED: "cancelled (a task it needs failed)"}
    run.changed(task, words.get(to, f"failed: {reason}"))


def need_failed(run: ActiveRun, task: TaskRecord) -> None:
    """Cancel a task because a task it needs did not succeed; a job already queued for it (held
    by a scheduler dependency) is recorded first, then stopped."""
    waiting = task.job_id if task.state in ACTIVE else None
    if not task.move(State.CANCELLED, NEED_FAILED):
        return
    run.changed(task, "cancelled (a task it needs failed)" if waiting else
                "skipped (a task it needs failed)")
    if waiting:
        try:
            run.place(task.id).scheduler.cancel([waiting])
        except MsoError as exc:   # held by a dependency that can never be met: it ends anyway
            run.warn(task, f"could not stop job {waiting}: {exc}")


def submit_failed(run: ActiveRun, tasks: list[TaskRecord], why: str) -> None:
    """The scheduler refused the tasks: they fail (a transient error pauses instead)."""
    for t in tasks:
        t.move(State.FAILED, f"could not submit: {why}")
        run.changed(t, f"failed to submit: {why}")


def host_lost(run: ActiveRun, tasks: list[TaskRecord], why: str) -> None:
    """The host they ran on is gone (a cloud server deleted behind mso's back): they fail."""
    for t in tasks:
        if t.move(State.FAILED, why):
            run.changed(t, f"failed: {why}")


def stage_in_failed(run: ActiveRun, why: str) -> None:
    """Preparing the work dirs failed: every task fails, saved at once."""
    for t in run.record.tasks:
        t.move(State.FAILED, why)
    run.record.reason = why
    run.save()


def pause(run: ActiveRun, reason: str) -> None:
    """Stop watching, saved at once: the jobs go on and the next `mso run` resumes."""
    run.record.state, run.record.reason = State.PAUSED, reason
    run.save()
    run.listen(run, run.record.tasks[0], f"paused: {reason}")


def resumed(record: RunRecord) -> None:
    """A paused run is watched again."""
    if record.state == State.PAUSED:
        record.state, record.reason = State.RUNNING, None


def cancel(run: ActiveRun, who: str, why: str) -> int:
    """Cancel every unfinished task: recorded first, then their jobs stopped and the work dirs
    removed. The number of tasks cancelled."""
    live = [t for t in run.record.tasks if not t.state.terminal]
    jobs = {t.id: t.job_id for t in live if t.job_id}
    for t in live:
        t.move(State.CANCELLED, why)
    run.record.cancelled_by, run.record.reason = who, why
    run.save()
    try:
        stop(run, jobs)
    except SchedulerError as exc:
        raise SchedulerError(f"{run.record.run_id} is recorded as cancelled, but stopping its "
                             f"jobs ({', '.join(sorted(filter(None, jobs.values())))}) failed; "
                             f"they may still run: {exc}") from None
    close(run, discard=True)
    return len(live)


def stop(run: ActiveRun, jobs: dict[str, str]) -> None:
    """Cancel these tasks' jobs (task id -> job id) at their schedulers."""
    for name, place in run.places.items():
        ids = [j for tid, j in jobs.items() if run.tasks[tid].infrastructure == name]
        if ids:
            place.scheduler.cancel(ids)


def close(run: ActiveRun, discard: bool = False) -> None:
    """After every task ended: remove the work dirs unless asked to keep them or one holds
    outputs (`discard`: remove them whatever they hold, for a cancelled run)."""
    if not run.finished:
        return  # paused: the next `mso run` goes on from the work dir
    holds_outputs = any(o["stored"] == "workdir" for t in run.record.tasks if not t.reused
                        for o in t.outputs)
    if discard or (not run.keep_workdir and not holds_outputs):
        for place in run.places.values():
            place.area.remove()
    cloudhosts.close(run)   # its cloud servers deleted, or kept warm
