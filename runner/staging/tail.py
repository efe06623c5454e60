"""Reading a log that grows in a task's work dir, through the transport (`mso logs --follow`):
the bytes written since the last read, decoded, with every secret masked (at a cut no secret can
straddle, so a secret written across two reads is masked all the same). The bytes are read by
the watcher's live tail (runner/staging/live.py), so a truncated or rotated log is followed the
same way."""

from __future__ import annotations

import codecs
import shlex
from pathlib import PurePosixPath

from runner.secrets import MASK, Secrets
from runner.staging import live
from runner.transports.base import Transport

CHUNK = 4 * 1024 * 1024   # bytes one command brings back at most
GONE = 3                  # the read command's exit code when the task's work dir is not there
PARTIAL = 3               # a log ending in this many first characters of a secret has them masked


def read_command(work: PurePosixPath) -> str:
    """The live tail's read command (the files asked for on its stdin), which exits GONE when the
    task's work dir is not there."""
    return f"[ -d {shlex.quote(str(work))} ] || exit {GONE}; " + live.command(CHUNK, CHUNK)


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
        self.inode = "0"    # which file that was (live.Want): a replaced one is read from 0
        self.shown = 0      # characters of (masked) text handed out
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held = ""

    def read(self) -> str | None:
        """The text written since the last read, masked, holding back what could be the start
        of a secret still being written; None when the work dir is gone."""
        path = str(self.work / self.rel)
        while True:
            want = live.request([live.Want(path, self.inode, self.offset)])
            result = self.transport.run(read_command(self.work), stdin=want)
            if result.code == GONE:
                return None
            chunk = live.parse(result.check(f"reading {path}").stdout).get(path)
            if chunk is None:   # not written yet
                break
            self.inode, self.offset = chunk.inode, chunk.start + len(chunk.data)
            self._held += self._decoder.decode(chunk.data)
            if not chunk.data or self.offset >= chunk.size:
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
