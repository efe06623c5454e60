"""How mso decides that a task ended, and how it ended: the scheduler and the job wrapper agree.

Two witnesses: the scheduler (runner/schedulers, `Scheduler.status`: queued, running, or over
with its verdict; silent about a job it forgot) and the wrapper every job runs, which writes the
command's exit code into the task's work dir (runner/schedulers/script.py). Neither alone is
trusted: a scheduler forgets finished jobs after a while and may lack accounting, and a wrapper
killed with its job writes nothing. Everything below is pure; the watcher feeds it.
"""

from __future__ import annotations

from runner.schedulers.base import JobStatus
from runner.schedulers.states import GENERIC_FAILURE
from runner.state import State

NEED_FAILED = "a task it needs did not succeed"
NO_EXIT_CODE = "the job ended but its wrapper recorded no exit code"
_EXIT_REASONS = {
    124: "walltime exceeded (killed by the time limit)", 127: "command not found",
    126: "command not executable", 97: "the work dir was missing", 98: "a module failed to load",
    96: "an input from an earlier step was missing",
    137: "killed (SIGKILL; out of memory or time?)", 143: "terminated (SIGTERM)"}


def ended(seen: JobStatus | None, exit_written: bool) -> bool:
    """Whether a watched task has ended: its scheduler says the job is over, or the scheduler no
    longer tells about it (`seen` None) and the wrapper recorded an exit code. While the scheduler
    still calls the job queued or running it has not ended, whatever the wrapper wrote (the
    job's epilogue may still run, and a requeued job starts again). An end the scheduler's
    accounting has not recorded yet (`seen.provisional`) is waited for, so that the record gets
    the accounting's verdict and figures (queue wait, CPU time, energy)."""
    if seen is None:
        return exit_written
    return seen.ended and not seen.provisional


def outcome(seen: JobStatus | None, exit_code: int | None,
            need_failed: bool) -> tuple[State, str | None]:
    """How an ended task ended: SUCCEEDED only when the scheduler does not say otherwise AND the
    wrapper recorded exit code 0; CANCELLED when the job never ran its command because a task it
    needs failed (the scheduler dropped it); FAILED otherwise, with the reason said once."""
    if exit_code is None and need_failed:
        return State.CANCELLED, NEED_FAILED
    if _scheduler_ok(seen) and exit_code == 0:
        return State.SUCCEEDED, None
    return State.FAILED, _reason(seen, exit_code)


def _scheduler_ok(seen: JobStatus | None) -> bool:
    return seen is None or seen.state in (None, State.SUCCEEDED)


def _reason(seen: JobStatus | None, code: int | None) -> str:
    parts = [seen.reason] if seen and not _scheduler_ok(seen) and seen.reason else []
    if code and parts == [GENERIC_FAILURE]:
        parts = []   # the exit code says more than "failed"
    if code is None and not parts:
        parts.append(NO_EXIT_CODE + " (killed from outside, or the host restarted?)")
    elif code and exit_reason(code) not in parts:
        parts.append(exit_reason(code))
    return "; ".join(parts) or "the scheduler reports a failure"


def exit_reason(code: int) -> str | None:
    """Why a command with this exit code failed, in words (None for 0)."""
    if code == 0:
        return None
    return _EXIT_REASONS.get(code, f"exit code {code}")
