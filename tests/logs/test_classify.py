"""Log classification with an application's filters."""

from runner.logs.classify import classify
from runner.declarations.models import LogFilter

FILTERS = (LogFilter("^step", "INFO", 1, "+1"), LogFilter("^done", "OK", 0, 100),
           LogFilter("error|fail", "ERROR", action="search"))


def test_first_matching_filter_wins_and_progress_accumulates() -> None:
    lines = ["start", "step 1", "step 2", "a failure", "done"]
    entries = list(classify(lines, FILTERS, expected_steps=4))
    assert [(e.line, e.severity) for e in entries] == [(2, "INFO"), (3, "INFO"), (4, "ERROR"), (5, "OK")]
    assert [e.progress for e in entries] == [25.0, 50.0, 50.0, 100.0]


def test_progress_without_expected_steps_stays_unknown() -> None:
    assert [e.progress for e in classify(["step", "step"], FILTERS)] == [None, None]


def test_step_progress_is_capped_at_100() -> None:
    entries = list(classify(["step"] * 5, FILTERS, expected_steps=2))
    assert entries[-1].progress == 100.0
