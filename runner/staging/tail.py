"""Reading a log that grows in a task's work dir, through the transport: the bytes written since
the last read, decoded, with every secret masked (at a cut no secret can straddle, so a secret
written across two reads is masked all the same)."""

from __future__ import annotations

import base64
import binascii
import codecs
import shlex
from pathlib import PurePosixPath

from runner.errors import StagingError
from runner.secrets import MASK, Secrets
from runner.transports.base import Transport

CHUNK = 4 * 1024 * 1024   # bytes one command brings back at most
GONE = 3                  # the read command's exit code when the task's work dir is not there
PARTIAL = 3               # a log ending in this many first characters of a secret has them masked


def read_command(work: PurePosixPath, rel: str, offset: int, chunk: int = CHUNK) -> str:
    """Print the size of the file at `rel` in the work dir, then (base64, one line) up to
    `chunk` bytes of it from `offset`; a file not written yet has size 0; a missing work dir
    exits GONE."""
    q = shlex.quote
    return (f"d={q(str(work))}; f={q(str(work / rel))}; [ -d \"$d\" ] || exit {GONE}; "
            "[ -f \"$f\" ] || { echo 0; exit 0; }; s=$(stat -c %s -- \"$f\") && echo \"$s\" && "
            f"if [ \"$s\" -gt {int(offset)} ]; then tail -c +{int(offset) + 1} -- \"$f\" | "
            f"head -c {int(chunk)} | base64 -w0; fi")


def parse_read(stdout: str) -> tuple[int, bytes]:
    """The size and the bytes read_command printed."""
    lines = stdout.strip().split("\n")
    try:
        return int(lines[0]), base64.b64decode(lines[1]) if len(lines) > 1 else b""
    except (ValueError, binascii.Error):
        raise StagingError(f"unexpected answer while reading a log: {stdout[:200]!r}") from None


def safe_cut(text: str, values: list[str]) -> int:
    """How much of `text` can be masked and shown now: all but an end that could be the first
    characters of a secret still being written, and never a cut through a secret, so every
    secret that ends up in the text is masked whole, whichever reads brought its parts."""
    cut = len(text) - partial(text, values)
    moved = True
    while moved:
        moved = False
        for v in values:
            at = text.find(v, max(cut - len(v) + 1, 0))
            if at != -1 and at < cut:
                cut, moved = at, True
    return cut


def partial(text: str, values: list[str]) -> int:
    """The length of the longest end of `text` that is a secret's beginning (not all of it)."""
    longest = 0
    for v in values:
        for k in range(min(len(v) - 1, len(text)), longest, -1):
            if text.endswith(v[:k]):
                longest = k
                break
    return longest


class Tail:
    """A file in a work dir, read on from where the last read stopped."""

    def __init__(self, transport: Transport, work: PurePosixPath, rel: str,
                 secrets: Secrets) -> None:
        self.transport, self.work, self.rel, self.secrets = transport, work, rel, secrets
        self.offset = 0     # bytes of the file read
        self.shown = 0      # characters of (masked) text handed out
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held = ""

    def read(self) -> str | None:
        """The text written since the last read, masked, holding back what could be the start
        of a secret still being written; None when the work dir is gone."""
        while True:
            result = self.transport.run(read_command(self.work, self.rel, self.offset))
            if result.code == GONE:
                return None
            size, data = parse_read(result.check(f"reading {self.work / self.rel}").stdout)
            self.offset += len(data)
            self._held += self._decoder.decode(data)
            if not data or self.offset >= size:
                break
        cut = safe_cut(self._held, self.secrets.values())
        return self._hand_out(cut)

    def rest(self, complete: bool) -> str:
        """What was held back, masked: when the file is `complete` (its task ended), all of it;
        else the end of what could be a secret's first characters is masked too."""
        if complete:
            self._held += self._decoder.decode(b"", final=True)
        text = self._hand_out(len(self._held))
        return text if complete else mask_partial(text, self.secrets.values())

    def _hand_out(self, cut: int) -> str:
        text, self._held = self.secrets.mask(self._held[:cut]), self._held[cut:]
        self.shown += len(text)
        return text


def mask_partial(text: str, values: list[str], least: int = PARTIAL) -> str:
    """The text with its end masked when it is the first `least` or more characters of a secret
    (a secret the file had only begun to hold when it was read)."""
    k = partial(text, values)
    return text[:-k] + MASK if k >= least else text
