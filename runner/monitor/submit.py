"""Starting what is ready: a step's ready tasks go to their scheduler as one batch, after adopting
any that a runner which died had already submitted."""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

from runner import failpoints
from runner.errors import MsoError, StagingError, TransportError
from runner.runs import ActiveRun
from runner.state import State, TaskRecord, now

Changed = Callable[[ActiveRun, TaskRecord, str], None]
Pause = Callable[[list[ActiveRun], str], None]
ACTIVE = (State.QUEUED.value, State.RUNNING.value)


def start_ready(groups: dict, changed: Changed, pause: Pause) -> int:
    """Submit every task whose needs succeeded, within each scheduler's limit; submit calls."""
    calls = 0
    for sched, members in groups.values():
        running = sum(1 for _, tasks in members for t in tasks if t.state in ACTIVE)
        room = (sched.max_parallel or 10**9) - running
        for r, tasks in members:
            ready: dict[str, list[TaskRecord]] = defaultdict(list)
            for t in tasks:
                if t.state in ACTIVE and _needs(r, t, sched.chains) == "blocked":
                    _drop_waiting(r, t, changed)   # queued behind a task that failed
                if t.state != State.PENDING.value:
                    continue
                verdict = _needs(r, t, sched.chains)
                if verdict == "blocked":
                    t.move(State.CANCELLED, "a task it needs did not succeed")
                    changed(r, t, "skipped (a task it needs failed)")
                elif verdict == "ready" and room > 0:
                    ready[t.step].append(t)
                    room -= 1
            for batch in ready.values():
                calls += _submit(r, batch, changed, pause)
    return calls


def _needs(r: ActiveRun, t: TaskRecord, chains: bool) -> str:
    """blocked (a need failed), ready (all succeeded, or all submitted to this scheduler, which
    then holds the task until they succeed), or wait."""
    needs = [r.task(n) for n in t.needs]
    if any(n.state in (State.FAILED.value, State.CANCELLED.value) for n in needs):
        return "blocked"
    if all(n.state == State.SUCCEEDED.value for n in needs):
        return "ready"
    here = r.tasks[t.id].infrastructure
    if chains and all(n.state in ACTIVE + (State.SUCCEEDED.value,) and
                      r.tasks[n.id].infrastructure == here for n in needs):
        return "ready"
    return "wait"


def _drop_waiting(r: ActiveRun, t: TaskRecord, changed: Changed) -> None:
    if t.job_id:
        r.place(t.id).scheduler.cancel([t.job_id])
    t.move(State.CANCELLED, "a task it needs did not succeed")
    changed(r, t, "cancelled (a task it needs failed)")


def _submit(r: ActiveRun, batch: list[TaskRecord], changed: Changed, pause: Pause) -> int:
    """One step's ready tasks as one batch; 1 if the scheduler was asked to submit."""
    place = r.place(batch[0].id)
    jobs = [r.job(t.id) for t in batch]
    try:
        adopted = place.scheduler.find(jobs)
    except MsoError as exc:  # never guess: submitting blind could run a task twice
        changed(r, batch[0], f"warning: cannot look for submitted jobs: {exc}")
        if isinstance(exc, TransportError) and exc.transient:
            pause([r], f"{place.infra.name} unreachable: {exc}")
        return 0
    for t, j in zip(batch, jobs):
        if j.name in adopted:
            _mark(r, t, adopted[j.name], "adopted (submitted before the runner stopped)", changed)
    fresh = [(t, j) for t, j in zip(batch, jobs) if j.name not in adopted]
    if not fresh:
        return 0
    try:
        for t, _ in fresh:
            _step_inputs(r, t.id)
        failpoints.hit("before-submit")
        ids = place.scheduler.submit([j for _, j in fresh], _waits(r, [t for t, _ in fresh]))
        failpoints.hit("after-submit")
    except (MsoError, OSError) as exc:
        if isinstance(exc, TransportError) and exc.transient:
            pause([r], f"{place.infra.name} unreachable while submitting: {exc}")
            return 1
        for t, _ in fresh:
            t.move(State.FAILED, f"could not submit: {exc}")
            changed(r, t, f"failed to submit: {exc}")
        return 1
    for (t, _), job_id in zip(fresh, ids):
        _mark(r, t, job_id, "", changed)
    return 1


def _waits(r: ActiveRun, tasks: list[TaskRecord]) -> dict[str, list[str]] | None:
    """By job name, the job ids of needs that have not succeeded yet (the scheduler holds the
    job until they do); None when nothing waits."""
    waits = {r.job(t.id).name: [r.task(n).job_id for n in t.needs
                                if r.task(n).state != State.SUCCEEDED.value]
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


def _mark(r: ActiveRun, t: TaskRecord, job_id: str, note: str, changed: Changed) -> None:
    t.job_id, t.submitted = job_id, t.submitted or now()
    local = r.place(t.id).infra.kind == "local"
    t.move(State.RUNNING if local else State.QUEUED)
    changed(r, t, note or ("started" if local else f"queued as {job_id}"))
