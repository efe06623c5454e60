"""How mso decides a task ended, and how: the scheduler's word and the wrapper's exit code."""

from runner.runs import completion
from runner.schedulers.base import ENDED, JobStatus
from runner.schedulers.states import GENERIC_FAILURE
from runner.state import State


def test_a_job_the_scheduler_calls_active_has_not_ended_whatever_the_wrapper_wrote() -> None:
    assert not completion.ended(JobStatus(State.RUNNING), exit_written=True)
    assert not completion.ended(JobStatus(State.QUEUED), exit_written=True)


def test_a_job_the_scheduler_forgot_has_ended_only_once_the_wrapper_wrote_its_exit_code() -> None:
    assert not completion.ended(None, exit_written=False)
    assert completion.ended(None, exit_written=True)


def test_a_job_the_scheduler_calls_over_has_ended() -> None:
    for seen in (ENDED, JobStatus(State.SUCCEEDED), JobStatus(State.FAILED, "x"),
                 JobStatus(State.CANCELLED)):
        assert completion.ended(seen, exit_written=False)


def test_success_needs_both_the_scheduler_and_exit_code_0() -> None:
    assert completion.outcome(JobStatus(State.SUCCEEDED), 0, False) == (State.SUCCEEDED, None)
    assert completion.outcome(ENDED, 0, False) == (State.SUCCEEDED, None)
    assert completion.outcome(None, 0, False) == (State.SUCCEEDED, None)
    state, reason = completion.outcome(JobStatus(State.SUCCEEDED), 3, False)
    assert (state, reason) == (State.FAILED, "exit code 3")
    state, reason = completion.outcome(JobStatus(State.FAILED, "out of memory"), 0, False)
    assert (state, reason) == (State.FAILED, "out of memory")


def test_reasons_are_said_once_and_the_exit_code_beats_a_generic_failure() -> None:
    assert completion.outcome(JobStatus(State.FAILED, GENERIC_FAILURE), 127, False) == \
        (State.FAILED, "command not found")
    assert completion.outcome(JobStatus(State.FAILED, "out of memory"), 137, False) == \
        (State.FAILED, "out of memory; killed (SIGKILL; out of memory or time?)")
    state, reason = completion.outcome(ENDED, None, False)
    assert state == State.FAILED and reason.startswith(completion.NO_EXIT_CODE)


def test_a_job_dropped_because_its_need_failed_is_cancelled_not_failed() -> None:
    assert completion.outcome(JobStatus(State.CANCELLED), None, True) == \
        (State.CANCELLED, completion.NEED_FAILED)
    # it ran and failed on its own: that is a failure, whatever its need did
    assert completion.outcome(JobStatus(State.FAILED), 2, True)[0] == State.FAILED
