"""Classify application log lines with the application's filters (MSO4SC's remotelogger, kept)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from runner.declarations.models import LogFilter


@dataclass(frozen=True)
class Entry:
    line: int
    severity: str
    verbosity: int
    text: str
    progress: float | None


class Classifier:
    """Stateful across lines: `+N` progress accumulates towards `expected_steps`."""

    def __init__(self, filters: Iterable[LogFilter], expected_steps: int | None = None) -> None:
        self.rules = [(re.compile(f.pattern), f) for f in filters]
        self.expected = expected_steps
        self.steps = 0.0
        self.progress: float | None = None

    def classify(self, lineno: int, text: str) -> Entry | None:
        """The entry for a line that a filter matches, else None (unmatched lines are kept raw)."""
        for rx, f in self.rules:
            if rx.search(text):
                self._advance(f.progress)
                return Entry(lineno, f.severity, f.verbosity, text, self.progress)
        return None

    def _advance(self, progress: float | str | None) -> None:
        if progress is None:
            return
        if isinstance(progress, str):
            self.steps += float(progress[1:])
            if self.expected:
                self.progress = min(100.0, round(100.0 * self.steps / self.expected, 2))
        else:
            self.progress = float(progress)


def classify(lines: Iterable[str], filters: Iterable[LogFilter],
             expected_steps: int | None = None) -> Iterator[Entry]:
    c = Classifier(filters, expected_steps)
    for n, text in enumerate(lines, 1):
        entry = c.classify(n, text.rstrip("\n"))
        if entry:
            yield entry


CLASSIFIED = ".jsonl"   # a log's classified entries sit beside it, as `<log>.jsonl`


def to_jsonl(entries: Iterable[Entry]) -> str:
    return "".join(json.dumps(e.__dict__, ensure_ascii=False) + "\n" for e in entries)


def from_jsonl(text: str) -> list[Entry]:
    """The entries in the text of a `.jsonl` log; a line that is not an entry is skipped (the
    file came through git like any other, so it may have been edited by hand)."""
    found = []
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        entry = _entry(item) if isinstance(item, dict) else None
        if entry:
            found.append(entry)
    return found


def _entry(item: dict) -> Entry | None:
    """An entry from its parsed line, or None when a field the readers rely on is off."""
    line, severity, text = item.get("line"), item.get("severity"), item.get("text")
    if not (isinstance(line, int) and isinstance(severity, str) and isinstance(text, str)):
        return None
    verbosity, progress = item.get("verbosity"), item.get("progress")
    return Entry(line, severity, verbosity if isinstance(verbosity, int) else 0, text,
                 progress if isinstance(progress, (int, float)) else None)
