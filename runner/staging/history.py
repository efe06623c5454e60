"""One application log of one task as a stream of lines: bytes read (live, or at collection)
become lines, lines are masked and classified, entries are appended to `<log>.jsonl` in results/.

Line numbers count the lines of the stream since the task started, across truncations and
rotations, so they never repeat: a line whose number is already recorded is never appended again
(after a crash, a resumed runner reads on from its cursor, or from the start, and skips them).
The cursor (inode, offset of the first unfinished line, lines done) sits in the staging folder.
Memory: one line is held at most MAX_LINE bytes; a longer one is cut there, said so in the entry,
and its rest skipped up to its newline.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from runner.declarations.models import LogSpec
from runner.logs.classify import CLASSIFIED, Classifier, Entry, from_jsonl, to_jsonl
from runner.secrets import MASK, Secrets
from runner.staging.tail import safe_cut

MAX_LINE = 64 * 1024          # bytes of one line kept; the rest of a longer line is dropped
CUT = " [... line cut by mso at {} bytes]"
ERRORS = ("ERROR", "CRITICAL")


@dataclass
class Summary:
    """What a log said so far: entries per severity, its first error, its last progress."""

    counts: Counter = field(default_factory=Counter)
    first_error: dict | None = None
    progress: float | None = None

    def add(self, log: str, entries: list[Entry]) -> None:
        for e in entries:
            self.counts[e.severity] += 1
            if self.first_error is None and e.severity in ERRORS:
                self.first_error = {"log": log, "line": e.line, "text": e.text}
            if e.progress is not None:
                self.progress = e.progress


def merged(parts: list[Summary]) -> dict | None:
    """A task's summary for run.json (TaskRecord.logs) from its logs' summaries, in order."""
    if not any(p.counts for p in parts):
        return None
    counts: Counter = Counter()
    for p in parts:
        counts.update(p.counts)
    errors = [p.first_error for p in parts if p.first_error]
    progress = [p.progress for p in parts if p.progress is not None]
    return {"counts": dict(sorted(counts.items())), "first_error": errors[0] if errors else None,
            "progress": progress[-1] if progress else None}


class LogStream:
    """A declared log of a task (`rel` in its work dir), read on from where it was left."""

    def __init__(self, spec: LogSpec, rel: str, expected_steps: int | None, dest: Path,
                 cursor: Path, secrets: Secrets) -> None:
        self.rel, self.secrets = rel, secrets
        self.jsonl, self.cursor = dest / f"{rel}{CLASSIFIED}", cursor
        self.classifier = Classifier(spec.filters, expected_steps)
        self.summary = Summary()
        self.seen = self._replay()          # the last line number recorded
        saved = _load(cursor)
        self.inode, self.line = saved.get("inode", "0"), saved.get("line", 0)
        self.pos = self.start = saved.get("offset", 0)   # read up to; first unfinished line
        self.held, self.cutting = bytearray(), False

    def _replay(self) -> int:
        """Restore the classifier (relative progress) and the summary from what is recorded."""
        try:
            recorded = from_jsonl(self.jsonl.read_text("utf-8", errors="replace"))
        except OSError:
            return 0
        for e in recorded:
            self.classifier.classify(e.line, e.text)
        self.summary.add(self.rel, recorded)
        return max((e.line for e in recorded), default=0)

    def feed(self, inode: str, start: int, data: bytes) -> list[Entry]:
        """The new entries from bytes read at `start` of the file known as `inode`
        (runner/staging/live.py: `inode:birth`)."""
        out: list[Entry] = []
        if start == self.pos and (inode == self.inode or "0" in (inode, self.inode)):
            self.inode = inode
        elif start == 0:             # a new file (rotated, recreated) or truncated: on from 0
            out += self.finish()
            self.inode, self.pos, self.start = inode, 0, 0
        else:
            return out               # not where this stream is: asked again from its cursor
        at, self.pos = self.pos, self.pos + len(data)
        values, i = self.secrets.values(), 0
        while i < len(data):
            nl = data.find(b"\n", i)
            if nl < 0:
                out += self._take(data[i:], False, values)
                break
            out += self._take(data[i:nl], True, values)
            i = nl + 1
            self.start = at + i
        return out

    def _take(self, piece: bytes, ended: bool, values: list[str]) -> list[Entry]:
        """A piece of the current line (`ended`: up to its newline)."""
        out: list[Entry] = []
        if not self.cutting:
            room = MAX_LINE - len(self.held)
            self.held += piece[:room]
            if len(piece) > room:
                out += self._line(bytes(self.held), values, cut=True)
                self.held, self.cutting = bytearray(), True
        if ended:
            if not self.cutting:
                out += self._line(bytes(self.held), values)
            self.line += 1
            self.held, self.cutting = bytearray(), False
        return out

    def _line(self, raw: bytes, values: list[str], cut: bool = False) -> list[Entry]:
        """The entry of line number self.line + 1 (none if recorded already or unclassified)."""
        n = self.line + 1
        if n <= self.seen:
            return []
        text = raw.decode("utf-8", errors="replace").removesuffix("\r")
        if cut:
            text = text[: safe_cut(text, values)] + CUT.format(MAX_LINE)
        for v in values:
            text = text.replace(v, MASK)
        entry = self.classifier.classify(n, text)
        return [entry] if entry else []

    def finish(self) -> list[Entry]:
        """The last line of a file that will not grow (held without its newline)."""
        if not self.held and not self.cutting:
            return []
        out = [] if self.cutting else self._line(bytes(self.held), self.secrets.values())
        self.line += 1
        self.held, self.cutting = bytearray(), False
        return out

    def record(self, entries: list[Entry]) -> None:
        """Append entries to `<log>.jsonl` (then move the cursor: a crash between the two
        re-reads lines whose numbers are recorded, which are skipped)."""
        if entries:
            self.jsonl.parent.mkdir(parents=True, exist_ok=True)
            with open(self.jsonl, "a", encoding="utf-8") as fh:
                fh.write(to_jsonl(entries))
            self.seen = entries[-1].line
            self.summary.add(self.rel, entries)
        self._save()

    def _save(self) -> None:
        state = {"inode": self.inode, "offset": self.start, "line": self.line}
        self.cursor.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cursor.with_name(self.cursor.name + ".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.cursor)


def _load(path: Path) -> dict:
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    ok = isinstance(saved, dict) and isinstance(saved.get("inode"), str) and all(
        isinstance(saved.get(k), int) for k in ("offset", "line"))
    return saved if ok else {}


def cursor_path(stage: Path, task_id: str, rel: str) -> Path:
    """Where a log's cursor is kept: in the run's staging folder, beside the task dirs."""
    return stage / ".live" / task_id / f"{rel}.json"


def complete(stream: LogStream, path: Path, here: bool, hear: Callable[[list[Entry]], None],
             chunk: int = 1024 * 1024) -> None:
    """Read a log that will not grow any more (its task ended) to its end, and record it:
    `path` is the file itself (`here`) or a copy fetched from the host (its inode means
    nothing here: the copy goes on from the cursor unless it is shorter, as a truncation)."""
    try:
        fh = open(path, "rb")
    except OSError:
        return
    with fh:
        size = os.fstat(fh.fileno()).st_size
        inode = _identity(os.fstat(fh.fileno()), stream.inode) if here else stream.inode
        start = stream.pos if inode == stream.inode and size >= stream.pos else 0
        fh.seek(start)
        while data := fh.read(chunk):     # one chunk in memory at a time
            _told(stream, stream.feed(inode, start, data), hear)
            start += len(data)
    _told(stream, stream.finish(), hear)
    stream.jsonl.parent.mkdir(parents=True, exist_ok=True)
    stream.jsonl.touch()   # a log with no classified line has its (empty) twin all the same


def _told(stream: LogStream, entries: list[Entry], hear: Callable[[list[Entry]], None]) -> None:
    stream.record(entries)
    if entries:
        hear(entries)


def is_glob(path: str) -> bool:
    """Whether a declared log path is a pattern (such logs are classified when the task ends)."""
    return any(c in path for c in "*?[")


def _identity(st: os.stat_result, known: str) -> str:
    """A local file's identity: the one known when its inode is the same (Python cannot read
    the birth time stat's %W prints), else its inode."""
    return known if known.split(":")[0] == str(st.st_ino) else f"{st.st_ino}:"
