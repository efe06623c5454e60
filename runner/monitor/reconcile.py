"""What ended: fetch what the tasks left (one transfer per batch and host), read the wrapper's
exit code, let runner/runs/completion.py decide how each task ended, collect into results/."""

from __future__ import annotations

from runner import failpoints
from runner.errors import MsoError
from runner.monitor import outputs
from runner.runs import completion, lifecycle
from runner.runs.active import ActiveRun
from runner.schedulers.base import JobStatus
from runner.staging import collect
from runner.staging.area import LocalArea
from runner.state import State, TaskRecord

Ended = list[tuple[TaskRecord, JobStatus | None]]


def record_ended(r: ActiveRun, batch: Ended) -> None:
    """Fetch and reconcile a batch of one run's ended tasks, earlier steps first."""
    order = {t.id: i for i, t in enumerate(r.record.tasks)}
    by_place: dict[str, Ended] = {}
    for t, seen in sorted(batch, key=lambda item: order[item[0].id]):
        by_place.setdefault(r.tasks[t.id].infrastructure, []).append((t, seen))
    for name, items in by_place.items():
        area = r.places[name].area
        try:
            left = area.fetch([r.tasks[t.id] for t, _ in items])
        except MsoError as exc:  # the next poll tries again
            r.warn(items[0][0], f"fetching results failed: {exc}")
            continue
        for t, seen in items:
            _reconcile(r, t, seen, left[t.id])
            failpoints.hit("while-collecting")
    outputs.publish_ended(r)


def _reconcile(r: ActiveRun, t: TaskRecord, seen: JobStatus | None, left: collect.Left) -> None:
    need_failed = any(r.task(n).state in (State.FAILED, State.CANCELLED) for n in t.needs)
    to, reason = completion.outcome(seen, left.records.exit_code, need_failed)
    if to == State.CANCELLED:   # its command never ran: nothing to collect
        lifecycle.ended(r, t, to, reason, {})
        return
    area = r.place(t.id).area
    got = collect.collect(r.tasks[t.id], area.stage / t.id, r.results / t.id, r.secrets,
                          with_outputs=to == State.SUCCEEDED, left=left,
                          here=isinstance(area, LocalArea),
                          hear=lambda log, entries: r.hear(r, t, log, entries))
    for text in got.warnings:
        r.warn(t, text)
    if to == State.SUCCEEDED and (got.missing or got.refused):
        to, reason = State.FAILED, _output_problem(got)
    if to == State.SUCCEEDED:
        # outputs that could not be saved make no success: the run says so (the work dir,
        # which still holds them, is kept)
        unsaved = outputs.stage_out(r, t, got.outputs)
        to, reason = (State.FAILED, unsaved) if unsaved else (to, reason)
    lifecycle.ended(r, t, to, reason, {
        "exit_code": got.exit_code, "started": got.started, "ended": got.ended,
        "peak_memory_kb": got.peak_memory_kb, "outputs": got.outputs,
        **({"logs": got.logs} if got.logs else {}),
        **({"metrics": got.metrics} if got.metrics and to == State.SUCCEEDED else {}),
        **({"usage": used} if (used := _usage(got, seen)) else {})})


def _usage(got: collect.Collected, seen: JobStatus | None) -> dict | None:
    """What the task used: the wrapper's figures (elapsed, CPU time), with the scheduler's
    accounting over them (it also knows the queue wait and energy); `source` says whose figures
    these are: the accounting's when it told any."""
    told = dict((seen.usage if seen else None) or {})
    source = told.pop("source", None) if told else "wrapper"   # the accounting's parsers name it
    merged = {**(got.usage or {}), **told}
    return {**merged, "source": source} if merged else None


def _output_problem(got: collect.Collected) -> str:
    if got.refused:
        return f"output {got.refused[0]} points outside the work dir; it was not collected"
    return f"declared output {got.missing[0]!r} was not produced"
