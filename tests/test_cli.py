"""The one error boundary and the options every verb shares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner import cli, error_handler
from runner.errors import MsoError
from tests.conftest import mso


def test_a_bug_exits_3_with_a_crash_log(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    def broken(args):
        raise ZeroDivisionError("boom")
    monkeypatch.setattr("runner.commands.status.run", broken)
    parser = cli.parser()
    args = parser.parse_args(["status"])
    args.func = broken
    code = error_handler.run(lambda: args.func(args))
    err = capsys.readouterr().err
    assert code == 3 and "internal error" in err and "ZeroDivisionError: boom" in err
    log = Path(err.split("details in ")[1].split(";")[0].split("\n")[0].strip())
    assert "Traceback" in log.read_text() and "boom" in log.read_text()


def test_user_error_is_one_line_exit_1(capsys: pytest.CaptureFixture) -> None:
    def refuse():
        raise MsoError("the thing is wrong (do this)")
    assert error_handler.run(refuse) == 1
    assert capsys.readouterr().err == "mso: the thing is wrong (do this)\n"
    assert error_handler.run(refuse, as_json=True) == 1
    assert json.loads(capsys.readouterr().out)["error"] == "the thing is wrong (do this)"


def test_json_before_or_after_the_verb(example: Path) -> None:
    for args in (["--json", "status"], ["status", "--json"]):
        proc = mso(*args, repo=example)
        assert proc.returncode == 0 and json.loads(proc.stdout) == {"ok": True, "runs": []}


def test_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    proc = mso("run", repo=tmp_path)
    assert proc.returncode == 1 and "not an mso repository" in proc.stderr
