"""Fixtures for the SSH transport's tests against the REAL test sshd (.ci/services/cluster-up).

Integration tests skip, with the reason, when /var/lib/mso-test/env is absent or sshd does not
answer; with CI=true they fail instead, so CI cannot go green without having run them.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from runner.transports.settings import SSHSettings
from runner.transports.ssh import SSHTransport
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = Path(os.environ.get("MSO_TEST_ENV_FILE", "/var/lib/mso-test/env"))
TEST_DIR = ENV_FILE.parent
CLUSTER_UP = ROOT / ".ci" / "services" / "cluster-up"
KEY_VAR, KNOWN_VAR, PASSWORD_VAR = "MSO_T_SSH_KEY", "MSO_T_KNOWN_HOSTS", "MSO_T_SSH_PASSWORD"


def read_env(path: Path) -> dict[str, str]:
    """The KEY=VALUE lines of the test cluster's env file."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def port_open(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def cluster() -> dict[str, str]:
    """The test cluster's facts (MSO_TEST_*), or a skip (a failure under CI) saying why not."""
    if not ENV_FILE.is_file():
        unavailable(f"{ENV_FILE} is absent: start the test cluster with "
                    f"`sudo .ci/services/cluster-up`")
    env = read_env(ENV_FILE)
    host, port = env["MSO_TEST_SSH_HOST"], int(env["MSO_TEST_SSH_PORT"])
    if not port_open(host, port):
        unavailable(f"no sshd answers on {host}:{port}: run `sudo .ci/services/cluster-up`")
    return env


@pytest.fixture
def ssh_vars(cluster: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The key and known_hosts variables set to the test cluster's files (as paths)."""
    monkeypatch.setenv(KEY_VAR, cluster["MSO_TEST_SSH_KEY_FILE"])
    monkeypatch.setenv(KNOWN_VAR, cluster["MSO_TEST_KNOWN_HOSTS_FILE"])
    monkeypatch.delenv(PASSWORD_VAR, raising=False)
    return cluster


@pytest.fixture
def connect(ssh_vars: dict[str, str]) -> Iterator[Callable[..., SSHTransport]]:
    """A factory of transports to the test sshd (keyword overrides of the settings and of the
    transport's own options allowed); all closed after."""
    made: list[SSHTransport] = []
    base = SSHSettings(ssh_vars["MSO_TEST_SSH_HOST"], int(ssh_vars["MSO_TEST_SSH_PORT"]),
                       ssh_vars["MSO_TEST_SSH_USER"], key_var=KEY_VAR, known_hosts_var=KNOWN_VAR)
    settings_fields = {f.name for f in dataclasses.fields(SSHSettings)}

    def make(**overrides: object) -> SSHTransport:
        settings = dataclasses.replace(base, **{k: v for k, v in overrides.items()
                                                if k in settings_fields})
        options: dict = {k: v for k, v in overrides.items() if k not in settings_fields}
        transport = SSHTransport(settings, **options)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()


@pytest.fixture
def ssh(connect: Callable[..., SSHTransport]) -> SSHTransport:
    """One transport to the test sshd."""
    return connect()


@pytest.fixture
def remote_dir(ssh: SSHTransport) -> Iterator[str]:
    """A fresh folder on the remote side, removed afterwards."""
    path = ssh.run("mktemp -d /tmp/mso-transport-test.XXXXXX").check().stdout.strip()
    yield path
    ssh.run(f"rm -rf {path}")


# --- the sshd process and our connections to it ---------------------------------------------

def established(port: int, pid: int | None = None) -> list[tuple[int, list[int]]]:
    """Established TCP connections to `port`: (client port, pids of the processes holding them)."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", f"( dport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        local = int(line.split()[2].rsplit(":", 1)[1])
        pids = [int(p) for p in re.findall(r"pid=(\d+)", line)]
        if pid is None or pid in pids:
            found.append((local, pids))
    return found


def server_side_pids(port: int, client_port: int) -> list[int]:
    """The sshd processes that serve the connection coming from `client_port`."""
    out = subprocess.run(["ss", "-Htnp", "state", "established",
                          f"( sport = :{port} and dport = :{client_port} )"],
                         capture_output=True, text=True, check=True).stdout
    return [int(p) for p in re.findall(r"pid=(\d+)", out)]


def process_alive(pid: int, comm: str | None = None) -> bool:
    """Whether pid runs (not a zombie), and runs `comm` when given."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and (comm is None or name == comm)


def stop(pid: int, comm: str, sig: int = signal.SIGTERM, wait: float = 10.0) -> None:
    """Signal one process we know by id and wait until it has gone."""
    if not process_alive(pid, comm):
        return
    os.kill(pid, sig)
    deadline = time.monotonic() + wait
    while process_alive(pid, comm):
        if time.monotonic() > deadline:
            raise AssertionError(f"{comm} (pid {pid}) did not stop")
        time.sleep(0.05)


def sshd_pid() -> int:
    """The test sshd's pid, from the records cluster-up keeps."""
    for record in (TEST_DIR / "started" / "sshd.pid", TEST_DIR / "run" / "sshd.pid"):
        try:
            pid = int(record.read_text().strip())
        except (OSError, ValueError):
            continue
        if process_alive(pid, "sshd"):
            return pid
    raise AssertionError("no running test sshd recorded under " + str(TEST_DIR))
