"""This machine as a host: commands through bash, files by copying."""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from runner.errors import TransportError
from runner.transports.base import Lines, OnLine, Result, Transport


ARG_MAX = 32 * 1024   # characters of a command passed as bash's argument (the limit is 128 KiB)


class LocalTransport(Transport):
    host = "localhost"

    def __init__(self, login: bool = False, env: dict[str, str] | None = None,
                 inherit: dict[str, str] | None = None) -> None:
        """Commands get `inherit` (default: this process's environment) updated with `env`."""
        self.login = login
        self.env = {**(os.environ if inherit is None else inherit), **(env or {})}

    def run(self, cmd: str, timeout: float | None = None, stdin: str | None = None,
            on_stderr: OnLine | None = None) -> Result:
        self.commands += 1
        if len(cmd) < ARG_MAX:
            return self._run(["bash", "-lc" if self.login else "-c", cmd], cmd, timeout, stdin,
                             on_stderr)
        # one argument may not be longer than 128 KiB (a sweep's command for 1000 tasks is):
        # such a command is read by bash from a file instead
        with tempfile.NamedTemporaryFile("w", prefix="mso-", suffix=".sh") as script:
            script.write(cmd)
            script.flush()
            return self._run(["bash", *(["-l"] if self.login else []), script.name], cmd,
                             timeout, stdin, on_stderr)

    def _run(self, argv: list[str], cmd: str, timeout: float | None, stdin: str | None,
             on_stderr: OnLine | None = None) -> Result:
        if on_stderr is not None:
            return self._watched(argv, cmd, timeout, stdin, Lines(on_stderr))
        try:
            proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout,
                                  text=True, errors="replace", env=self.env)
        except subprocess.TimeoutExpired:
            raise TransportError(f"timed out after {timeout} s: {cmd[:200]}") from None
        return Result(cmd, proc.returncode, proc.stdout, proc.stderr)

    def _watched(self, argv: list[str], cmd: str, timeout: float | None, stdin: str | None,
                 lines: Lines) -> Result:
        """As _run, each stderr line handed on as it arrives: both pipes read as they fill
        (here, so the callback runs in the caller's thread), stdin written by a thread."""
        proc = subprocess.Popen(argv, stdin=None if stdin is None else subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        if stdin is not None:
            threading.Thread(target=_write, args=(proc.stdin, stdin), daemon=True).start()
        deadline = None if timeout is None else time.monotonic() + timeout
        out, err = bytearray(), bytearray()
        with proc, selectors.DefaultSelector() as ready:
            ready.register(proc.stdout, selectors.EVENT_READ, out)
            ready.register(proc.stderr, selectors.EVENT_READ, err)
            while ready.get_map():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    proc.kill()
                    raise TransportError(f"timed out after {timeout} s: {cmd[:200]}")
                for key, _ in ready.select(left):
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        ready.unregister(key.fileobj)
                    key.data.extend(chunk)
                    if key.data is err:
                        lines.feed(chunk)
            lines.close()
            code = proc.wait()
        return Result(cmd, code, _text(out), _text(err))

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


def _write(pipe, text: str) -> None:
    """Give a command its stdin, then EOF (it may exit without reading it all)."""
    try:
        pipe.write(text.encode("utf-8", "surrogateescape"))
        pipe.close()
    except OSError:
        pass


def _text(data: bytearray) -> str:
    """Bytes as subprocess.run(text=True) gives them: UTF-8, universal newlines."""
    return bytes(data).decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
