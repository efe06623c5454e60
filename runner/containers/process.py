"""Run a builder's command: its output streamed line by line, its last lines kept for the error."""

from __future__ import annotations

import collections
import subprocess
from collections.abc import Callable, Mapping, Sequence

from runner.errors import ContainerError

TAIL = 20
# What a registry client prints when the network or the registry failed, not the image:
# worth another try. (ch-image and buildah print the underlying Python/Go error text.)
# The most telling first: the first one found in a line is the reason given.
TRANSIENT = ("Connection refused", "Connection reset", "connection reset by peer", "timed out",
             "i/o timeout", "RemoteDisconnected", "Temporary failure in name resolution",
             "502 Bad Gateway", "503 Service Unavailable", "504 Gateway", "429 Too Many Requests",
             "EOF occurred", "Max retries exceeded")
MASK = "[MASKED]"


class Transient(ContainerError):
    """A command failed in a way that another try may mend (the registry was unreachable);
    `reason` is the one line that says so."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message.splitlines()[0]


def run(argv: Sequence[str], env: Mapping[str, str], what: str, say: Callable[[str], None],
        stdin: str | None = None, hide: Sequence[str] = (), cwd: str | None = None) -> None:
    """Run `argv`, handing each output line to `say`; raise with the last lines if it fails."""
    tail: collections.deque[str] = collections.deque(maxlen=TAIL)
    try:
        proc = subprocess.Popen(list(argv), env=dict(env), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace",
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                cwd=cwd)
    except OSError as exc:
        raise ContainerError(f"{what}: cannot start {argv[0]}: {exc.strerror}") from None
    if stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    for line in proc.stdout:
        line = _masked(line.rstrip("\n"), hide)
        tail.append(line)
        say(line)
    code = proc.wait()
    if code != 0:
        _fail(what, code, list(tail))


def _masked(line: str, hide: Sequence[str]) -> str:
    for value in hide:
        if value:
            line = line.replace(value, MASK)
    return line


def _fail(what: str, code: int, tail: list[str]) -> None:
    body = "\n".join("    " + ln for ln in tail) or "    (no output)"
    message = f"{what} failed (exit code {code}); its last lines:\n{body}"
    found = [m for ln in tail for m in TRANSIENT if m in ln]
    if found:
        raise Transient(message, found[0])
    raise ContainerError(message)
