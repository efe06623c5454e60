"""An application's filters in MSO4SC's filter file (`logs: {filters: PATH}`) or inline, checked by
the real `mso validate`: bad patterns and bad entries are reported at their file:line:col."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from runner.declarations.repository import load_valid
from tests.conftest import mso

APP = """\
name: opm
version: "1"
description: OPM Flow, logging.
command: [flow, deck.DATA]
{logs}
"""
# the shape MSO4SC's opm-flow-logger blueprint wrote (JSON-like, a trailing comma)
FILTER_FILE = """\
[
    {
        "filename": "flow.log",
        "filters": [
            {pattern: "^================    End of simulation     ===============", severity: "OK", progress: 100},
            {pattern: "^Time step",  severity: "INFO"},
            {pattern: "^Report step",  severity: "WARNING", progress: "+1"},
            {pattern: "^[\\\\s]*[:|=]", verbosity: 2},
            {pattern: "^Keyword", verbosity: 2},
            {pattern: "[\\\\s\\\\S]*", verbosity: 1},
        ]
    },
]
"""


def repo_with(tmp_path: Path, logs: str, files: dict[str, str] | None = None) -> Path:
    repo = tmp_path / "repo"
    (repo / "applications" / "opm").mkdir(parents=True)
    (repo / "applications" / "opm.yaml").write_text(APP.format(logs=logs))
    for rel, text in (files or {}).items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    return repo


def failed(repo: Path, where: str, *fragments: str) -> str:
    """`mso validate` failed cleanly with `fragments` reported at `where` (file:line:col)."""
    out = mso("validate", repo=repo, timeout=60)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr, out
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(where + ":" if where.count(":") < 2
                                                                     else where)]
    assert any(all(f in ln for f in fragments) for ln in lines), out.stdout + out.stderr
    return out.stdout


def test_the_blueprint_filter_file_is_read_as_it_is(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, "logs: {filters: applications/opm/filters.yaml}",
                     {"applications/opm/filters.yaml": FILTER_FILE})
    out = mso("validate", repo=repo, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    (log,) = load_valid(repo).applications["opm"].logs
    assert log.path == "flow.log"
    assert [(f.severity, f.verbosity, f.progress) for f in log.filters] == [
        ("OK", 0, 100), ("INFO", 0, None), ("WARNING", 0, "+1"), ("INFO", 2, None),
        ("INFO", 2, None), ("INFO", 1, None)]
    assert log.filters[3].pattern == r"^[\s]*[:|=]"
    assert str(log.filters[1].where) == "applications/opm/filters.yaml:6:23"


def test_a_bad_pattern_in_the_filter_file_is_reported_there(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, "logs: {filters: applications/opm/filters.json}",
                     {"applications/opm/filters.json": FILTER_FILE.replace("^Keyword", "^Key(word")})
    failed(repo, "applications/opm/filters.json:9:23", "not a valid regular expression",
           "missing )", "position 9")


def test_a_bad_pattern_inline_is_reported_in_the_application(tmp_path: Path) -> None:
    logs = 'logs:\n  - filename: a.log\n    filters:\n      - {pattern: "ok"}\n' \
           '      - {pattern: "[unclosed", action: search}\n'
    failed(repo_with(tmp_path, logs), "applications/opm.yaml:9:19",
           "not a valid regular expression", "logs[0].filters[1].pattern")


def test_filter_file_entries_are_checked_against_the_schema(tmp_path: Path) -> None:
    text = FILTER_FILE.replace('severity: "INFO"', "severity: 7").replace(
        '"filename": "flow.log"', '"filename": "flow.log", "path": "x.log"')
    repo = repo_with(tmp_path, "logs: {filters: applications/opm/f.yaml}",
                     {"applications/opm/f.yaml": text})
    out = failed(repo, "applications/opm/f.yaml:6", "[0].filters[1].severity")
    assert re.search(r"applications/opm/f\.yaml:\d+:\d+: \[0\].*only one of 'filename' or 'path'",
                     out), out


@pytest.mark.parametrize("path, why", [
    ("applications/other/f.yaml", "is not in the application's folder"),
    ("applications/opm/../../f.yaml", "leaves the repository"),
    ("/etc/passwd", "leaves the repository"),
    ("applications/opm/missing.yaml", "does not exist"),
    ("applications/opm/link.yaml", "outside applications/opm/"),
])
def test_a_filter_file_outside_the_application_folder_is_refused(tmp_path: Path, path: str,
                                                                 why: str) -> None:
    repo = repo_with(tmp_path, f"logs: {{filters: {path}}}",
                     {"applications/other/f.yaml": FILTER_FILE, "f.yaml": FILTER_FILE})
    os.symlink("../other/f.yaml", repo / "applications/opm/link.yaml")
    failed(repo, "applications/opm.yaml:5", why)


def test_a_filter_file_that_is_not_a_list(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, "logs: {filters: applications/opm/f.yaml}",
                     {"applications/opm/f.yaml": "filename: a.log\n"})
    failed(repo, "applications/opm/f.yaml:1:1", "expected a list at the top level")


def test_today_s_inline_shape_and_filename_both_load(tmp_path: Path) -> None:
    logs = ("logs:\n  - path: a.log\n    filters: [{pattern: '^a', severity: 3}]\n"
            "  - filename: b.log\n    filters: [{pattern: b, action: fullmatch, skip: true,"
            " team: solver}]\n")
    app = load_valid(repo_with(tmp_path, logs)).applications["opm"]
    assert [lg.path for lg in app.logs] == ["a.log", "b.log"]
    assert app.logs[0].filters[0].severity == "ERROR"
    f = app.logs[1].filters[0]
    assert (f.action, f.skip, dict(f.attributes)) == ("fullmatch", True, {"team": "solver"})


def test_a_log_path_leaving_the_work_dir_is_reported_where_it_is_written(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, "logs: {filters: applications/opm/f.yaml}",
                     {"applications/opm/f.yaml": FILTER_FILE.replace('"flow.log"', '"../flow.log"')})
    failed(repo, "applications/opm/f.yaml:3:21", "escapes the run directory", "[0].filename")
    repo = repo_with(tmp_path / "inline", "logs: [{path: /var/log/x, filters: []}]")
    failed(repo, "applications/opm.yaml:5:15", "escapes the run directory", "logs[0].path")
