"""This machine as a host: commands through bash, files by copying."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from runner.errors import TransportError
from runner.transports.base import Result, Transport


ARG_MAX = 32 * 1024   # characters of a command passed as bash's argument (the limit is 128 KiB)


class LocalTransport(Transport):
    host = "localhost"

    def __init__(self, login: bool = False, env: dict[str, str] | None = None,
                 inherit: dict[str, str] | None = None) -> None:
        """Commands get `inherit` (default: this process's environment) updated with `env`."""
        self.login = login
        self.env = {**(os.environ if inherit is None else inherit), **(env or {})}

    def run(self, cmd: str, timeout: float | None = None, stdin: str | None = None) -> Result:
        self.commands += 1
        if len(cmd) < ARG_MAX:
            return self._run(["bash", "-lc" if self.login else "-c", cmd], cmd, timeout, stdin)
        # one argument may not be longer than 128 KiB (a sweep's command for 1000 tasks is):
        # such a command is read by bash from a file instead
        with tempfile.NamedTemporaryFile("w", prefix="mso-", suffix=".sh") as script:
            script.write(cmd)
            script.flush()
            return self._run(["bash", *(["-l"] if self.login else []), script.name], cmd,
                             timeout, stdin)

    def _run(self, argv: list[str], cmd: str, timeout: float | None, stdin: str | None) -> Result:
        try:
            proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout,
                                  text=True, errors="replace", env=self.env)
        except subprocess.TimeoutExpired:
            raise TransportError(f"timed out after {timeout} s: {cmd[:200]}") from None
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
