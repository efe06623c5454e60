"""One connection per transport, jump hosts, and surviving an sshd restart (real sshd)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import paramiko
import pytest

from runner.errors import TransportError
from runner.transports.ssh import SSHTransport

from .conftest import (
    CLUSTER_UP,
    KNOWN_VAR,
    established,
    port_open,
    process_alive,
    server_side_pids,
    sshd_pid,
    stop,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def transports_made(monkeypatch: pytest.MonkeyPatch) -> list[paramiko.Transport]:
    """Every paramiko Transport (SSH connection) created while the test runs."""
    made: list[paramiko.Transport] = []

    class Counted(paramiko.Transport):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(paramiko.client, "Transport", Counted)
    return made


def test_one_connection_for_commands_and_files(connect: Callable[..., SSHTransport],
                                               transports_made: list[paramiko.Transport],
                                               ssh_vars: dict[str, str], tmp_path: Path) -> None:
    port = int(ssh_vars["MSO_TEST_SSH_PORT"])
    before = {local for local, _ in established(port, os.getpid())}
    ssh = connect()
    remote = ssh.run("mktemp -d").stdout.strip()
    src = tmp_path / "f"
    src.write_bytes(os.urandom(100_000))
    seen: set[int] = set()
    for i in range(50):
        assert ssh.run(f"echo {i}").stdout == f"{i}\n"
        if i % 10 == 0:
            ssh.put(src, f"{remote}/f{i}")
            ssh.get(f"{remote}/f{i}", tmp_path / f"back{i}")
            assert ssh.exists(f"{remote}/f{i}")
            seen |= {local for local, _ in established(port, os.getpid())} - before
    ssh.run(f"rm -rf {remote}")
    assert len(transports_made) == 1
    assert len(seen) == 1, f"TCP connections from this process to sshd: {seen}"


def test_jump_host(connect: Callable[..., SSHTransport], ssh_vars: dict[str, str],
                   transports_made: list[paramiko.Transport], tmp_path: Path) -> None:
    jump = (f"{ssh_vars['MSO_TEST_SSH_USER']}@{ssh_vars['MSO_TEST_SSH_HOST']}:"
            f"{ssh_vars['MSO_TEST_SSH_PORT']}")
    ssh = connect(jump_host=jump)
    # Through the jump host, the target sees a connection from sshd's own forwarding socket.
    assert ssh.run("echo $SSH_CONNECTION").stdout.split()[2:] == ["127.0.0.1", "2222"]
    assert len(transports_made) == 2  # the jump host's connection and the target's inside it
    assert isinstance(transports_made[1].sock, paramiko.Channel)
    src = tmp_path / "f"
    src.write_text("through the jump host\n")
    ssh.put(src, "/tmp/mso-transport-test-jump.txt")
    assert ssh.run("cat /tmp/mso-transport-test-jump.txt; rm /tmp/mso-transport-test-jump.txt"
                   ).stdout == "through the jump host\n"


def test_a_refused_jump_host_key_is_refused(connect: Callable[..., SSHTransport],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KNOWN_VAR, "")
    with pytest.raises(TransportError, match="not in the known hosts") as err:
        connect(jump_host="127.0.0.1:2222").run("true")
    assert err.value.transient is False


def test_sshd_restarted_mid_session_then_the_next_command_succeeds(
        connect: Callable[..., SSHTransport], ssh_vars: dict[str, str],
        caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    host, port = ssh_vars["MSO_TEST_SSH_HOST"], int(ssh_vars["MSO_TEST_SSH_PORT"])
    ssh = connect(attempts=8, backoff=0.3)
    assert ssh.run("echo before").stdout == "before\n"
    [(client_port, _)] = established(port, os.getpid())
    restart = None
    try:
        # sshd goes down, and with it this session (as when the login node reboots) ...
        stop(sshd_pid(), "sshd")
        for pid in server_side_pids(port, client_port):
            stop(pid, "sshd", signal.SIGKILL)
        # ... and comes back the way it was started, while the next command is under way.
        with open(tmp_path / "cluster-up.log", "w") as log_file:
            restart = subprocess.Popen([str(CLUSTER_UP)], stdout=log_file,
                                       stderr=subprocess.STDOUT)
        with caplog.at_level(logging.WARNING):
            assert ssh.run("echo after", timeout=30).stdout == "after\n"
        assert any("try 2 of 8" in r.getMessage() for r in caplog.records)
        assert [local for local, _ in established(port, os.getpid())] != [client_port]
    finally:
        if restart is None or restart.wait(timeout=300) != 0 or not port_open(host, port):
            subprocess.run([str(CLUSTER_UP)], check=False)
            log_path = tmp_path / "cluster-up.log"
            out = log_path.read_text() if log_path.exists() else ""
            pytest.fail(f"cluster-up did not bring sshd back:\n{out}")
    assert process_alive(sshd_pid(), "sshd")


def test_connection_lost_while_idle_reconnects(connect: Callable[..., SSHTransport],
                                               ssh_vars: dict[str, str]) -> None:
    port = int(ssh_vars["MSO_TEST_SSH_PORT"])
    ssh = connect()
    assert ssh.exists("/tmp")
    [(client_port, _)] = established(port, os.getpid())
    for pid in server_side_pids(port, client_port):
        stop(pid, "sshd", signal.SIGKILL)
    time.sleep(0.2)  # paramiko's reader thread sees the connection close
    assert ssh.exists("/tmp") and ssh.run("echo again").stdout == "again\n"
