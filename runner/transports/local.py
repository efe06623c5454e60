"""This machine as a host: commands through bash, files by copying."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from runner.errors import TransportError
from runner.transports.base import Result, Transport


class LocalTransport(Transport):
    host = "localhost"

    def __init__(self, login: bool = False, env: dict[str, str] | None = None,
                 inherit: dict[str, str] | None = None) -> None:
        """Commands get `inherit` (default: this process's environment) updated with `env`."""
        self.login = login
        self.env = {**(os.environ if inherit is None else inherit), **(env or {})}

    def run(self, cmd: str, timeout: float | None = None, stdin: str | None = None) -> Result:
        self.commands += 1
        argv = ["bash", "-lc" if self.login else "-c", cmd]
        try:
            proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout,
                                  text=True, errors="replace", env=self.env)
        except subprocess.TimeoutExpired:
            raise TransportError(f"timed out after {timeout} s: {cmd}") from None
        return Result(cmd, proc.returncode, proc.stdout, proc.stderr)

    def put(self, local: Path, remote: str) -> None:
        self._copy(Path(local), Path(remote))

    def get(self, remote: str, local: Path) -> None:
        self._copy(Path(remote), Path(local))

    def exists(self, remote: str) -> bool:
        return os.path.lexists(remote)

    def close(self) -> None:
        pass

    @staticmethod
    def _copy(src: Path, dst: Path) -> None:
        try:
            shutil.copyfile(src, dst)
        except OSError as exc:
            raise TransportError(f"cannot copy {src} to {dst}: {exc.strerror}") from None
