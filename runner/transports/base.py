"""The transport interface: five methods, no more (a scheduler is handed one; it never opens SSH)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.errors import TransportError, command_failed

log = logging.getLogger(__name__)
OnLine = Callable[[str], None]


@dataclass(frozen=True)
class Result:
    """What a command did: its exit code and output (decoded as UTF-8, bad bytes replaced)."""

    command: str
    code: int
    stdout: str
    stderr: str

    def check(self, what: str = "") -> "Result":
        """Raise TransportError naming the command, code and output unless it exited 0."""
        if self.code != 0:
            prefix = f"{what}: " if what else ""
            raise TransportError(prefix + command_failed(self.command, self.code, self.stdout,
                                                         self.stderr))
        return self


class Transport(ABC):
    """Run shell commands on a host and move files to and from it.

    `cmd` is ONE shell command line; every value in it that came from a declaration must have
    gone through shlex.quote. Commands run in a login shell (sites put sbatch and apptainer
    behind `module load`).
    """

    host: str = "localhost"
    connections: int = 0      # connections opened (for benchmarks: one per infrastructure)
    commands: int = 0         # commands run

    @abstractmethod
    def run(self, cmd: str, timeout: float | None = None, stdin: str | None = None,
            on_stderr: OnLine | None = None) -> Result:
        """Run one command; never raises for a non-zero exit (see Result.check).
        `on_stderr` is called with each non-empty line of its stderr as it arrives (progress
        lines of a long command); the Result holds the whole stderr all the same."""

    @abstractmethod
    def put(self, local: Path, remote: str) -> None:
        """Copy a local file to a remote path (its folder must exist)."""

    @abstractmethod
    def get(self, remote: str, local: Path) -> None:
        """Copy a remote file to a local path."""

    @abstractmethod
    def exists(self, remote: str) -> bool:
        """Whether a remote path exists."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection (idempotent)."""


class Lines:
    """Feeds a callback each complete, non-empty line of a byte stream as it arrives (without
    its end of line); `close` passes on a last line that had none. A callback that raises is
    logged and called no more: it never breaks the command it watches."""

    def __init__(self, callback: OnLine) -> None:
        self.callback: OnLine | None = callback
        self.rest = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.rest += chunk
        *complete, rest = self.rest.split(b"\n")
        self.rest = bytearray(rest)
        for line in complete:
            self._say(line)

    def close(self) -> None:
        self._say(bytes(self.rest))
        self.rest.clear()

    def _say(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace").rstrip("\r")
        if text and self.callback is not None:
            try:
                self.callback(text)
            except Exception:   # noqa: BLE001 - a watcher's bug must not stop the command
                log.exception("a stderr line callback failed; it is called no more")
                self.callback = None


class Offline(Transport):
    """A transport for rendering job scripts (a dry run): it contacts no host and needs no
    credentials; anything that would reach the host is a bug, said loudly."""

    def __init__(self, host: str | None) -> None:
        self.host = host

    def _refuse(self, *args, **kw):
        raise RuntimeError(f"a dry run tried to reach {self.host}")

    run = put = get = exists = _refuse

    def close(self) -> None:
        pass
