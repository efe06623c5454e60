"""Fixtures of the tests that run against the test cluster."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.conftest import add_counter, require


@pytest.fixture
def slurm(on_cluster: Path) -> Path:
    """The repository reaching the test cluster, with the `counter` application."""
    return add_counter(on_cluster)


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A work root for `local` outside /tmp (a scan reads /tmp anyway; ch-run's unprivileged
    user reaches /var/tmp); removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="mso-test-", dir="/var/tmp"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


class QueueLoad:
    """Jobs of another user than mso's (cluster-up's MSO_TEST_OTHER_USER) that hold the test
    node's CPUs, so that the test user's jobs wait in a queue, as on a busy site."""

    NAME = "mso-queue-load"

    def __init__(self, env: dict[str, str]) -> None:
        self.user, self.node = env["MSO_TEST_OTHER_USER"], env["MSO_TEST_NODE"]
        self.cpus = self._node("CPUTot")

    def _node(self, field: str) -> int:
        """A count `scontrol show node` tells (CPUTot, CPUAlloc, ...)."""
        text = _cmd(["scontrol", "-o", "show", "node", self.node])
        return int(re.search(rf"\b{field}=(\d+)", text).group(1))

    def wait_idle(self, seconds: float = 120) -> None:
        """Wait until no job of anyone holds a CPU of the node (one of another test, or of
        someone else's tests on this machine, would share it with the load)."""
        _until(lambda: self._node("CPUAlloc") == 0, seconds,
               lambda: f"node {self.node} to be idle; it runs:\n" + _cmd(["squeue", "-w", self.node]))

    def fill(self, seconds: int, cpus: int | None = None) -> str:
        """Submit a job holding `cpus` (all the node's) for `seconds`, its time limit its sleep,
        so Slurm's estimate of its end is exact; its id, once the scheduler took it up (running,
        or pending behind others). Slurm keeps limits in whole minutes (it rounds `--time`
        up): `seconds` is a multiple of 60, else the estimate would be the rounded limit."""
        if seconds <= 0 or seconds % 60:
            raise ValueError(f"fill({seconds}): a whole number of minutes, in seconds (Slurm rounds --time up)")
        job = _cmd(["runuser", "-u", self.user, "--", "sbatch", "--parsable", f"--job-name={self.NAME}",
                    "--chdir=/", "--output=/dev/null", "--ntasks=1", f"--cpus-per-task={cpus or self.cpus}",
                    f"--time={seconds // 60}:00", f"--wrap=sleep {seconds}"]).strip().split(";")[0]
        _until(lambda: _taken_up(_cmd(["squeue", "-h", "-j", job, "-o", "%T|%r"])), 30,
               f"the scheduler to take up job {job}")
        return job

    def clear(self) -> None:
        """Cancel every job of the other user and wait until the queue shows none of them."""
        _cmd(["scancel", "-u", self.user])
        _until(lambda: not _cmd(["squeue", "-h", "-u", self.user, "-o", "%i"]).strip(), 60,
               f"the queue to hold no job of {self.user}")


def _cmd(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{shlex.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}"
    return proc.stdout


def _taken_up(line: str) -> bool:
    """Whether squeue's `%T|%r` says the scheduler has placed the job (a pending job's reason
    is `None` until the scheduler first looks at it)."""
    state, _, reason = line.strip().partition("|")
    return state == "RUNNING" or (state == "PENDING" and reason not in ("", "None"))


def _until(condition: Callable[[], bool], seconds: float, what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {seconds} s waiting for {what if isinstance(what, str) else what()}")
        time.sleep(0.2)


@pytest.fixture
def queue_load(cluster_env: dict[str, str]) -> Iterator[QueueLoad]:
    """Another user's jobs on the test node (none at the start, and the node idle); all of them
    cancelled, and gone from the queue, at the end."""
    require(os.geteuid() == 0, "submitting as another user", "the tests run as root here (runuser)")
    require("MSO_TEST_OTHER_USER" in cluster_env, "the other Slurm user", "run .ci/services/cluster-up")
    load = QueueLoad(cluster_env)
    load.clear()
    load.wait_idle()
    yield load
    load.clear()
