"""Starting what is ready: a step's ready tasks go to their scheduler as one batch, after adopting
any that a runner which died had already submitted."""

from __future__ import annotations

from collections import defaultdict

from runner import failpoints
from runner.errors import MsoError, StagingError, SubmitLimited, TransportError
from runner.runs import lifecycle
from runner.runs.active import ActiveRun
from runner.runs.lifecycle import ACTIVE
from runner.schedulers.base import Job, Scheduler
from runner.state import State, TaskRecord

Members = list[tuple[ActiveRun, list[TaskRecord]]]


def start_ready(groups: dict[int, tuple[Scheduler, Members]]) -> int:
    """Submit every task whose needs succeeded, as far as each scheduler admits them (its limits),
    and cancel those whose needs failed; the number of submit calls."""
    calls = 0
    for sched, members in groups.values():
        queued = sum(1 for _, tasks in members for t in tasks if t.state in ACTIVE)
        for r, tasks in members:
            ready: dict[str, list[TaskRecord]] = defaultdict(list)
            for t in tasks:
                if t.state.terminal:
                    continue
                verdict = needs(r, t, sched.chains)
                if verdict == "blocked":
                    lifecycle.need_failed(r, t)   # pending, or queued behind the failed task
                elif verdict == "ready" and t.state == State.PENDING:
                    ready[t.step].append(t)
            for batch in ready.values():
                called, queued = _submit(r, batch, queued)
                calls += called
    return calls


def needs(r: ActiveRun, t: TaskRecord, chains: bool) -> str:
    """blocked (a need failed), ready (all succeeded, or all submitted to this scheduler, which
    then holds the task until they succeed), or wait."""
    wanted = [r.task(n) for n in t.needs]
    if any(n.state in (State.FAILED, State.CANCELLED) for n in wanted):
        return "blocked"
    if all(n.state == State.SUCCEEDED for n in wanted):
        return "ready"
    here = r.tasks[t.id].infrastructure
    if chains and all(n.state in (*ACTIVE, State.SUCCEEDED) and
                      r.tasks[n.id].infrastructure == here for n in wanted):
        return "ready"
    return "wait"


def _submit(r: ActiveRun, batch: list[TaskRecord], queued: int) -> tuple[int, int]:
    """One step's ready tasks as one batch, as far as the scheduler admits them while `queued`
    of mso's jobs are there; (1 if it was asked to submit, else 0; the jobs queued now)."""
    sched = r.place(batch[0].id).scheduler
    fresh = _adopt(r, batch)
    if fresh is None:
        return 0, queued
    queued += len(batch) - len(fresh)
    admitted = {j.name for j in sched.admit([j for _, j in fresh], queued)}
    if sched.held:
        lifecycle.waiting(r, [t for t, j in fresh if j.name not in admitted], sched.held)
    fresh = [(t, j) for t, j in fresh if j.name in admitted]
    if not fresh:
        return 0, queued
    try:
        for t, _ in fresh:
            _step_inputs(r, t.id)
        failpoints.hit("before-submit")
        ids = dict(zip((j.name for _, j in fresh),
                       sched.submit([j for _, j in fresh], _waits(r, [t for t, _ in fresh]))))
        failpoints.hit("after-submit")
    except SubmitLimited as exc:   # what it took is queued; the rest waits for room
        ids = exc.taken
        lifecycle.waiting(r, [t for t, j in fresh if j.name not in ids], sched.held or str(exc))
    except (MsoError, OSError) as exc:
        _failed(r, [t for t, _ in fresh], exc)
        return 1, queued
    for t, j in fresh:
        if j.name in ids:
            lifecycle.submitted(r, t, ids[j.name])
    return 1, queued + len(ids)


def _adopt(r: ActiveRun, batch: list[TaskRecord]) -> list[tuple[TaskRecord, Job]] | None:
    """Adopt the batch's jobs that a runner which died had submitted; the rest, with their jobs
    (None when the scheduler could not be asked: never guess, submitting blind could run a task
    twice)."""
    place = r.place(batch[0].id)
    jobs = [r.job(t.id) for t in batch]
    unsure = [j for t, j in zip(batch, jobs) if r.unsure is None or t.id in r.unsure]
    try:
        adopted = place.scheduler.find(unsure) if unsure else {}
    except MsoError as exc:
        r.warn(batch[0], f"cannot look for submitted jobs: {exc}")
        if isinstance(exc, TransportError) and exc.transient:
            lifecycle.pause(r, f"{place.infra.name} unreachable: {exc}; `mso run` resumes")
        return None
    for t, j in zip(batch, jobs):
        if j.name in adopted:
            lifecycle.submitted(r, t, adopted[j.name], adopted=True)
    return [(t, j) for t, j in zip(batch, jobs) if j.name not in adopted]


def _failed(r: ActiveRun, tasks: list[TaskRecord], exc: Exception) -> None:
    """A submission that failed: a transient error pauses the run, any other fails the tasks."""
    if r.unsure is not None:   # the scheduler may have taken them before the error
        r.unsure.update(t.id for t in tasks)
    if isinstance(exc, TransportError) and exc.transient:
        lifecycle.pause(r, f"{r.place(tasks[0].id).infra.name} unreachable while submitting: "
                           f"{exc}; `mso run` resumes")
    else:
        lifecycle.submit_failed(r, tasks, str(exc))


def _waits(r: ActiveRun, tasks: list[TaskRecord]) -> dict[str, list[str]] | None:
    """By job name, the job ids of needs that have not succeeded yet (the scheduler holds the
    job until they do); None when nothing waits."""
    waits = {r.job(t.id).name: [r.task(n).job_id for n in t.needs
                                if r.task(n).state != State.SUCCEEDED]
             for t in tasks}
    return waits if any(waits.values()) else None


def _step_inputs(r: ActiveRun, task_id: str) -> None:
    """Outputs of earlier steps on another host come through here (on the same host the job
    copies them itself)."""
    dst = r.place(task_id).area
    for staged in r.tasks[task_id].inputs:
        if not staged.step_task or staged.same_place:
            continue
        src = r.place(staged.step_task).area
        rel_src, rel_dst = f"{staged.step_task}/{staged.step_path}", f"{task_id}/{staged.target}"
        local = src.stage / rel_src   # fetched with the earlier task's results when small
        if not local.is_file():
            raise StagingError(f"{rel_src} is needed on {r.tasks[task_id].infrastructure} but was "
                               "not fetched (only files up to the small-output size cross hosts)")
        dst.put(local, rel_dst)
