"""Classified entries as the `.jsonl` beside a log: written by the monitor, read by the book and
the reports."""

import json

from runner.declarations.models import LogFilter
from runner.logs.classify import Entry, classify, from_jsonl, to_jsonl

FILTERS = (LogFilter("^step", "INFO", 1, "+1"), LogFilter("^done", "OK", 0, 100),
           LogFilter("error", "ERROR"))


def test_what_is_written_reads_back_the_same() -> None:
    entries = list(classify(["step 1", "noise", "error <b>x</b> | y", "done"], FILTERS, 2))
    assert from_jsonl(to_jsonl(entries)) == entries
    assert [e.line for e in entries] == [1, 3, 4]


def test_optional_fields_default_and_lines_that_are_not_entries_are_skipped() -> None:
    lines = [{"line": 2, "severity": "ERROR", "text": "diverged"},          # no verbosity, progress
             {"severity": "ERROR", "text": "no line number"},
             {"line": "7", "severity": "WARNING", "text": "line is text"},
             {"line": 3, "text": "no severity"},
             {"line": 4, "severity": "OK", "text": "done", "progress": "50", "verbosity": "x"},
             [1, 2]]
    text = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n\n"
    assert from_jsonl(text) == [Entry(2, "ERROR", 0, "diverged", None),
                                Entry(4, "OK", 0, "done", None)]
