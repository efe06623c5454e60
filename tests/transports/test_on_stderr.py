"""`run(..., on_stderr=)`: each stderr line reaches the callback while the command still runs
(a long transfer's progress), on this machine and through the real test sshd, and the Result
is the same as without it.

"While it runs" is shown without timing: after its first line the command waits for a file
that only the callback creates; a callback called at the end would leave it waiting in vain."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Callable

import pytest

from runner.errors import TransportError
from runner.transports.base import Transport
from runner.transports.local import LocalTransport
from runner.transports.ssh import SSHTransport

WAIT = 'for i in $(seq 300); do [ -e {f} ] && break; sleep 0.1; done; '


def handshake(transport: Transport, flag: str, touch: Callable[[], None]) -> tuple[list[str], str]:
    """Run the waiting command; the callback touches the flag on seeing `first`."""
    seen: list[str] = []

    def callback(line: str) -> None:
        seen.append(line)
        if line == "first":
            touch()

    f = shlex.quote(flag)
    cmd = (f"echo out; echo first >&2; {WAIT.format(f=f)}"
           f"if [ -e {f} ]; then echo 'saw it' >&2; fi; printf 'no newline' >&2; exit 3")
    res = transport.run(cmd, on_stderr=callback)
    assert (res.code, res.stdout) == (3, "out\n")
    assert res.stderr == "first\nsaw it\nno newline"
    return seen, res.stderr


def test_local_lines_arrive_while_the_command_runs(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    seen, _ = handshake(LocalTransport(), str(flag), flag.touch)
    assert seen == ["first", "saw it", "no newline"]


def test_local_stdin_timeout_and_a_raising_callback(tmp_path: Path) -> None:
    local = LocalTransport()
    seen: list[str] = []
    res = local.run("cat; echo done >&2", stdin="a\nb\n" * 50000, on_stderr=seen.append)
    assert res.stdout == "a\nb\n" * 50000 and seen == ["done"]

    def broken(line: str) -> None:
        raise RuntimeError("a watcher's bug")
    res = local.run("echo x >&2; echo y >&2; echo z", on_stderr=broken)
    assert (res.code, res.stdout, res.stderr) == (0, "z\n", "x\ny\n")
    with pytest.raises(TransportError, match="timed out after 0.5 s"):
        local.run("echo begun >&2; sleep 30", timeout=0.5, on_stderr=seen.append)
    assert seen[-1] == "begun"


@pytest.mark.integration
def test_ssh_lines_arrive_while_the_command_runs(connect: Callable[..., SSHTransport]) -> None:
    ssh, other = connect(), connect()
    folder = ssh.run("mktemp -d /tmp/mso-on-stderr.XXXXXX").check().stdout.strip()
    flag = f"{folder}/flag"
    try:
        seen, _ = handshake(ssh, flag, lambda: other.run(f"touch {shlex.quote(flag)}").check())
        assert seen == ["first", "saw it", "no newline"], "no end marker, nothing left out"
        # the shell goes on as before, stdin included, lines ending just before the marker
        seen.clear()
        res = ssh.run("cat; printf 'a\\n\\nb\\n' >&2", stdin="in\n", on_stderr=seen.append)
        assert (res.stdout, res.stderr, seen) == ("in\n", "a\n\nb\n", ["a", "b"])
        assert ssh.run("echo after").stdout == "after\n"
    finally:
        ssh.run(f"rm -rf {shlex.quote(folder)}")
