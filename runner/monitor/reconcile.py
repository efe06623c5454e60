"""What ended: fetch what the tasks left (one transfer per batch), decide success from the
scheduler's verdict AND the wrapper's exit code, collect into results/."""

from __future__ import annotations

from typing import Callable

from runner import failpoints
from runner.errors import MsoError
from runner.runs import ActiveRun
from runner.schedulers.base import JobStatus
from runner.schedulers.states import GENERIC_FAILURE
from runner.staging import collect
from runner.state import State, TaskRecord


def record_ended(r: ActiveRun, batch: list[tuple[TaskRecord, JobStatus]],
                 changed: Callable, warn: Callable) -> None:
    """Fetch and reconcile a batch of one run's ended tasks, earlier steps first."""
    order = {t.id: i for i, t in enumerate(r.record.tasks)}
    by_place: dict[str, list] = {}
    for t, st in sorted(batch, key=lambda item: order[item[0].id]):
        by_place.setdefault(r.tasks[t.id].infrastructure, []).append((t, st))
    for name, items in by_place.items():
        area = r.places[name].area
        try:
            large = area.fetch([r.tasks[t.id] for t, _ in items])
        except MsoError as exc:  # the next poll tries again
            warn(r, items[0][0], f"warning: fetching results failed: {exc}")
            continue
        for t, st in items:
            _reconcile(r, t, st, large.get(t.id, []), changed)
            failpoints.hit("while-collecting")


def _reconcile(r: ActiveRun, t: TaskRecord, st: JobStatus, large: list[dict],
               changed: Callable) -> None:
    work = r.place(t.id).area.stage / t.id
    code = collect.wrapper_files(work).exit_code
    if code is None and any(r.task(n).state in (State.FAILED.value, State.CANCELLED.value)
                            for n in t.needs):  # the scheduler dropped it: its need failed
        t.move(State.CANCELLED, "a task it needs did not succeed")
        changed(r, t, "cancelled (a task it needs failed)")
        return
    ok = st.state == State.SUCCEEDED and code == 0
    got = collect.collect(r.tasks[t.id], work, r.results / t.id, with_outputs=ok, large=large)
    t.exit_code, t.started, t.ended = got.exit_code, got.started, got.ended
    t.peak_memory_kb, t.outputs = got.peak_memory_kb, got.outputs
    reason = _reason(st, code)
    if ok and (got.missing or got.refused):
        ok, reason = False, _output_problem(got)
    t.move(State.SUCCEEDED if ok else State.FAILED, None if ok else reason)
    changed(r, t, "succeeded" if ok else f"failed: {reason}")


def _reason(st: JobStatus, code: int | None) -> str | None:
    """Why a task failed, from the scheduler's verdict and the wrapper's exit code, said once."""
    parts = [st.reason] if st.state != State.SUCCEEDED and st.reason else []
    if code and parts == [GENERIC_FAILURE]:
        parts = []
    if code is None and not parts:
        parts.append("the job ended but its wrapper recorded no exit code")
    elif code and wrapper_exit_reason(code) not in parts:
        parts.append(wrapper_exit_reason(code))
    return "; ".join(parts) or None


def wrapper_exit_reason(code: int) -> str | None:
    """Why a command with this exit code failed, in words."""
    if code == 0:
        return None
    return {124: "walltime exceeded (killed by the time limit)", 127: "command not found",
            126: "command not executable", 97: "the work dir was missing",
            98: "a module failed to load", 96: "an input from an earlier step was missing", 137: "killed (SIGKILL; out of memory or time?)",
            143: "terminated (SIGTERM)"}.get(code, f"exit code {code}")


def _output_problem(got: collect.Collected) -> str:
    if got.refused:
        return f"output {got.refused[0]} points outside the work dir; it was not collected"
    return f"declared output {got.missing[0]!r} was not produced"
