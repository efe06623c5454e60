"""The summary of a task's classified logs (run.json's `logs`, kept live and at collection) in the
merge-request note and on the book's run page."""

from __future__ import annotations

from pathlib import Path

from runner.book.pages import tasks
from runner.publish import report
from runner.publish.report import Links
from runner.results.records import run_of
from runner.state import RunRecord, TaskRecord

RUN_ID = "20260101T000000Z-0000000b"
ERR = {"log": "opm.log", "line": 42, "text": "ERROR: well | <b>P1</b> shut"}


def _record() -> RunRecord:
    a = TaskRecord("main-0000", "main", 0, {}, state="running",
                   logs={"counts": {"INFO": 90, "WARNING": 4}, "first_error": None,
                         "progress": 50.0})
    b = TaskRecord("main-0001", "main", 1, {}, state="failed", reason="exit code 1",
                   logs={"counts": {"INFO": 10, "ERROR": 1}, "first_error": ERR, "progress": 100.0})
    c = TaskRecord("main-0002", "main", 2, {}, state="queued")
    return RunRecord(RUN_ID, "opm", "ab" * 32, {"name": "opm", "version": "1"},
                     {"name": "local", "kind": "local"}, [a, b, c], state="failed")


def test_the_note_sums_up_the_logs_of_a_run(tmp_path: Path) -> None:
    run = run_of(tmp_path, _record())
    line = report.logs_line(run.record.tasks)
    assert line.startswith("1 ERROR, 100 INFO, 4 WARNING · last progress 75 % (mean of 2 tasks)")
    assert "first ERROR: main-0001 opm.log line 42: ERROR: well" in line
    assert report.first_error(run) == "main-0001: ERROR: well | <b>P1</b> shut"
    body = report.note([report.row(run, report.first_error(run))], report.marker("7"), Links(),
                       ("7", None))
    [logs] = [ln for ln in body.splitlines() if ln.startswith(f"- opm {RUN_ID}:")]
    assert "1 ERROR, 100 INFO, 4 WARNING" in logs and r"well \| &lt;b&gt;P1&lt;/b&gt;" in logs
    assert "**Application logs**" in body
    quiet = _record()
    for t in quiet.tasks:
        t.logs = None
    assert "Application logs" not in report.note(
        [report.row(run_of(tmp_path, quiet), "")], report.marker("7"), Links(), ("7", None))


def test_the_book_shows_a_task_s_summary(tmp_path: Path) -> None:
    run = run_of(tmp_path, _record())
    failed = run.record.tasks[1]
    text = tasks.section(run, failed, tasks.Files("runs/opm/x"))
    [line] = [ln for ln in text.splitlines() if ln.startswith("**Logs**")]
    assert line.startswith("**Logs**: 1 ERROR, 10 INFO · progress **100 %**")
    assert "<code>opm.log</code> line 42" in line and "&lt;b&gt;P1&lt;/b&gt;" in line
    assert "**Logs**" not in tasks.section(run, run.record.tasks[2], tasks.Files("runs/opm/x"))
