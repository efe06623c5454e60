"""This machine as a host: commands longer than one argument may be (a sweep's command for 1000
tasks is) still run, read by bash from a file that is removed afterwards."""

from __future__ import annotations

import tempfile
from pathlib import Path

from runner.transports.local import ARG_MAX, LocalTransport


def test_a_command_longer_than_an_argument_may_be_runs_whole() -> None:
    lines = [f"echo line{i}" for i in range(20000)]   # about 230 KiB: over Linux's 128 KiB
    command = " ; ".join(lines)
    assert len(command) > 128 * 1024 > ARG_MAX
    before = set(Path(tempfile.gettempdir()).glob("mso-*.sh"))
    result = LocalTransport().run(command, stdin="unused")
    assert result.code == 0, result.stderr
    assert result.stdout.split() == [f"line{i}" for i in range(20000)]
    assert set(Path(tempfile.gettempdir()).glob("mso-*.sh")) == before, "the file is removed"


def test_short_commands_and_their_exit_codes_are_as_before() -> None:
    result = LocalTransport().run("echo hi; exit 3")
    assert (result.code, result.stdout) == (3, "hi\n")
