"""One long-lived remote bash, fed commands framed by random end markers.

Each command goes down the shell's stdin as

    ( eval 'CMD' ) </dev/null              # or < <(base64 -d <<'DELIM' ... DELIM) for stdin
    printf '\\n%s%s %d\\n' MSO1234 5678 "$?"; printf '\\n%s%s\\n' MSO1234 5678 >&2

- eval of a quoted string: a command with a syntax error fails alone (exit 2) instead of
  swallowing the framing; the subshell keeps `exit`, `cd` and `set -e` from leaking into the
  next command.
- The marker is printed in two halves, so it never occurs in the text the shell reads (nor in a
  `set -x` trace); stdout ends at the last "\\n"+marker and stderr likewise. Both streams are
  read as bytes, interleaved, so output without a final newline, binary output and megabytes on
  both streams come back verbatim, without filling the channel's window.
- stdin travels as base64 under a random delimiter (base64 lines never equal it): exact bytes,
  no quoting. bash reads its script a byte at a time, so this costs ~0.5 s per MB.
"""

from __future__ import annotations

import base64
import logging
import secrets
import selectors
import shlex
import time
from dataclasses import dataclass, field

import paramiko

from runner.transports.base import Lines, OnLine, Result

log = logging.getLogger(__name__)
CHUNK = 1 << 16
NO_STATUS = 255  # what ssh(1) reports when the remote shell ended without an exit status


class ShellEnded(Exception):
    """The remote shell exited (or its channel closed) before the command's end marker."""

    def __init__(self, status: int, stdout: bytes, stderr: bytes) -> None:
        super().__init__(f"remote shell ended with status {status}")
        self.status, self.stdout, self.stderr = status, stdout, stderr


class CommandTimeout(Exception):
    """The command's end marker did not arrive in time."""


def frame(cmd: str, token: str, stdin: str | None) -> bytes:
    """The shell text that runs `cmd` in a subshell, then prints the end markers."""
    if "\0" in cmd:
        raise ValueError("a command cannot contain a NUL character")
    head, tail = token[:8], token[8:]
    text = (f"( eval {shlex.quote(cmd)} ) {_stdin(stdin)}\n"
            f"printf '\\n%s%s %d\\n' {head} {tail} \"$?\"; printf '\\n%s%s\\n' {head} {tail} >&2\n")
    return text.encode("utf-8", "surrogateescape")


def _stdin(stdin: str | None) -> str:
    """The redirection that gives the command its stdin (nothing: /dev/null, never the script)."""
    if stdin is None:
        return "</dev/null"
    delim = "MSO_STDIN_" + secrets.token_hex(8)
    data = base64.encodebytes(stdin.encode("utf-8", "surrogateescape")).decode("ascii")
    return f"< <(base64 -d <<'{delim}'\n{data}{delim}\n)"


@dataclass
class _Stream:
    """One output stream of a command; complete once its end-marker line has arrived."""

    needle: bytes
    data: bytearray = field(default_factory=bytearray)
    scanned: int = 0
    end: int | None = None
    code: int | None = None
    lines: Lines | None = None   # given each line as it arrives (never the marker's)
    passed: int = 0              # bytes handed to `lines`

    def feed(self, chunk: bytes) -> None:
        self.data += chunk
        if self.end is None:
            self._scan()
        if self.lines is not None:
            self._pass_on()

    def _pass_on(self) -> None:
        """Hand on the text up to its last newline (what follows may be the start of the end
        marker); once the marker has come, the rest before it, and nothing more."""
        assert self.lines is not None
        if self.end is None:
            eol = self.data.rfind(b"\n", self.passed)
            if eol >= 0:
                self.lines.feed(bytes(self.data[self.passed:eol + 1]))
                self.passed = eol + 1
            return
        self.lines.feed(bytes(self.data[self.passed:self.end]))
        self.lines.close()
        self.lines = None

    def _scan(self) -> None:
        at = self.data.find(self.needle, self.scanned)
        if at < 0:
            self.scanned = max(0, len(self.data) - len(self.needle) + 1)
            return
        eol = self.data.find(b"\n", at + len(self.needle))
        if eol < 0:  # the marker line is not complete yet
            self.scanned = at
            return
        rest = self.data[at + len(self.needle):eol].strip()
        self.end, self.code = at, int(rest) if rest else None
        if eol + 1 < len(self.data):  # a background job of an earlier command wrote late
            log.debug("dropped %d bytes after an end marker", len(self.data) - eol - 1)

    def text(self) -> str:
        return bytes(self.data[:self.end]).decode("utf-8", "replace")


class Shell:
    """A remote bash on one channel: send() one framed command, collect() its result."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        self.pgid = 0
        # The channel's fileno is readable when data or EOF arrived on either stream.
        self._ready = selectors.DefaultSelector()
        self._ready.register(channel, selectors.EVENT_READ)

    @classmethod
    def open(cls, transport: paramiko.Transport, command: str, timeout: float) -> "Shell":
        """Start `command` (a bash) on a new channel and wait until it answers."""
        channel = transport.open_session(timeout=timeout)
        channel.exec_command(command)
        shell = cls(channel)
        try:
            # What the login scripts printed first (a banner) ends up before the last line.
            started = shell.collect("", shell.send('printf "\\n%s" "$$"'), timeout)
        except CommandTimeout:
            shell.kill()
            raise
        shell.pgid = int(started.stdout.rsplit("\n", 1)[-1])
        return shell

    @property
    def alive(self) -> bool:
        ch = self.channel
        return not (ch.closed or ch.eof_received or ch.exit_status_ready())

    def send(self, cmd: str, stdin: str | None = None) -> bytes:
        """Send one framed command; returns its end marker."""
        self._drain()
        token = "MSO" + secrets.token_hex(12)
        self.channel.sendall(frame(cmd, token, stdin))
        return token.encode()

    def collect(self, cmd: str, token: bytes, timeout: float | None,
                on_stderr: OnLine | None = None) -> Result:
        """Read both streams up to their end markers (each stderr line to `on_stderr` as it
        arrives); ShellEnded or CommandTimeout otherwise."""
        out = _Stream(b"\n" + token)
        err = _Stream(b"\n" + token, lines=Lines(on_stderr) if on_stderr else None)
        deadline = None if timeout is None else time.monotonic() + timeout
        while out.end is None or err.end is None:
            if not self._read(out, err):
                self._wait(deadline)
        code = NO_STATUS if out.code is None else out.code
        return Result(cmd, code, out.text(), err.text())

    def _read(self, out: _Stream, err: _Stream) -> bool:
        """Move what has arrived into the streams; False when nothing had."""
        got = False
        if self.channel.recv_ready():
            out.feed(self.channel.recv(CHUNK))
            got = True
        if self.channel.recv_stderr_ready():
            err.feed(self.channel.recv_stderr(CHUNK))
            got = True
        if not got and (self.channel.eof_received or self.channel.closed):
            raise ShellEnded(self._exit_status(), bytes(out.data), bytes(err.data))
        return got

    def _wait(self, deadline: float | None) -> None:
        left = 1.0 if deadline is None else deadline - time.monotonic()
        if left <= 0:
            raise CommandTimeout()
        self._ready.select(min(left, 1.0))

    def _drain(self) -> None:
        """Drop output that arrived between commands (background jobs of earlier ones)."""
        dropped = 0
        while self.channel.recv_ready():
            dropped += len(self.channel.recv(CHUNK))
        while self.channel.recv_stderr_ready():
            dropped += len(self.channel.recv_stderr(CHUNK))
        if dropped:
            log.debug("dropped %d bytes written between commands", dropped)

    def _exit_status(self) -> int:
        # OpenSSH sends EOF before exit-status; a shell killed by a signal sends none.
        self.channel.status_event.wait(2)
        status = self.channel.exit_status
        return status if status >= 0 else NO_STATUS

    def kill(self) -> None:
        """End the shell and all it started (its process group), then close its channel."""
        for signal in ("TERM", "KILL"):
            self._signal(signal)
            if self.channel.status_event.wait(3):
                break
        self.close()

    def _signal(self, name: str) -> None:
        if self.pgid <= 1:  # never `kill -- -0` (our own group) or -1 (everything)
            return
        try:
            channel = self.channel.get_transport().open_session(timeout=5)
            channel.exec_command(f"kill -{name} -- -{self.pgid} 2>/dev/null")
            channel.status_event.wait(5)
            channel.close()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            log.debug("could not signal the remote shell: %s", type(exc).__name__)

    def close(self) -> None:
        """Close the channel: the shell reads EOF and exits."""
        self._ready.close()
        self.channel.close()
