"""Classify application log lines with the application's filters (MSO4SC's remotelogger, kept).

The first filter that matches a line classifies it; a `skip` filter drops it; a line no filter
matches is not classified. How a pattern applies (`action`) and which engine runs it is
runner/declarations/patterns.py: no pattern can hang the classifier. Consecutive filters that
Python's `re` runs are joined into one alternation, so most lines cost one match call.
"""

from __future__ import annotations

import json
import re
from itertools import chain
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple

from runner.declarations.models import EMPTY, LogFilter
from runner.declarations.patterns import LONG, Compiled, compile_pattern
from runner.logs.batch import Batches, batchable, chunks

MAX_TIMEOUTS = 3    # a pattern out of time this often on one log is skipped from then on


class Entry(NamedTuple):
    """A classified line. A named tuple, not a frozen dataclass: made three times faster, and
    a log of millions of lines makes one per line."""

    line: int
    severity: str
    verbosity: int
    text: str
    progress: float | None
    attributes: Mapping[str, Any] = EMPTY    # the free keys of the filter that matched


_new = tuple.__new__   # Entry(...) without the keyword handling of its generated __new__


_TIMED_OUT = -1


class Classifier:
    """Stateful across lines: `+N` progress accumulates towards `expected_steps`.

    `warnings` lists what went wrong on the way (a pattern out of time), once each; callers
    print them (`take_warnings` hands over the new ones)."""

    def __init__(self, filters: Iterable[LogFilter], expected_steps: int | None = None) -> None:
        self.filters = tuple(filters)
        self.compiled = [compile_pattern(f.pattern, f.action) for f in self.filters]
        self.stages = _stages(self.compiled)
        self.expected = expected_steps
        self.steps = 0.0
        self.progress: float | None = None
        self.warnings: list[str] = []
        self._taken = 0
        self._timeouts = [0] * len(self.filters)
        # what a match by filter k makes: (skip, progress, severity, verbosity, attributes)
        self._made = [(f.skip, f.progress, f.severity, f.verbosity, dict(f.attributes))
                      for f in self.filters]
        one = self.stages[0] if len(self.stages) == 1 else (None, {}, ())
        self._only = one[0]          # the common case: one joined stage; what its groups make:
        self._by_group = [self._made[one[1][g]] if g in one[1] else None
                          for g in range(max(one[1], default=0) + 1)]
        self._batches = (Batches(self._only.__self__, self._by_group, _new, Entry)
                         if self._only is not None and batchable(self._only.__self__) else None)

    def classify(self, lineno: int, text: str) -> Entry | None:
        """The entry for a line that a filter matches, else None (unmatched lines are kept raw,
        skipped lines dropped)."""
        if self._only is not None and len(text) <= LONG:
            m = self._only(text)
            if m is None:
                return None
            made = self._by_group[m.lastindex]
        else:
            k = self.first(lineno, text)
            if k is None or k == _TIMED_OUT:
                return None
            made = self._made[k]
        skip, progress, severity, verbosity, attributes = made
        if skip:
            return None
        if progress is not None:
            self._advance(progress)
        return _new(Entry, (lineno, severity, verbosity, text, self.progress, attributes))

    def entries(self, lines: Iterable[str], start: int = 1) -> Iterator[Entry]:
        """The entries of consecutive lines, given without their newline (as str.splitlines
        gives them) and numbered from `start`: classify() without a call per line (and, when
        one joined pattern decides every line, without Python code per line: batch.py)."""
        if self._batches is None:
            return self._one_by_one(lines, start)
        return chain.from_iterable(self._batched(lines, start))

    def _one_by_one(self, lines: Iterable[str], start: int) -> Iterator[Entry]:
        for n, text in enumerate(lines, start):
            if (e := self.classify(n, text)) is not None:
                yield e

    def _batched(self, lines: Iterable[str], start: int) -> Iterator[Iterator[Entry]]:
        """The entries of each batch, made when the batch before them has been read (so that
        the progress they start from is the one the lines before them made)."""
        for batch in chunks(lines):
            if len(max(batch, key=len)) > LONG:
                yield self._each(batch, start)
            else:
                yield self._batches.entries(batch, start, self.progress, self._after)
            start += len(batch)

    def _after(self, moves: Iterable[float | str]) -> list[float | None]:
        """The progress after each of these moves, made in order."""
        return [self._advance(move) for move in moves]

    def _each(self, lines: list[str], start: int) -> Iterator[Entry]:
        """The joined pattern's entries a line at a time (a batch with a line too long for it)."""
        match, by_group, new = self._only, self._by_group, _new
        for n, text in enumerate(lines, start):
            if len(text) > LONG:
                if (e := self.classify(n, text)) is not None:
                    yield e
                continue
            m = match(text)
            if m is None:
                continue
            skip, progress, severity, verbosity, attributes = by_group[m.lastindex]
            if skip:
                continue
            if progress is not None:
                self._advance(progress)
            yield new(Entry, (n, severity, verbosity, text, self.progress, attributes))

    def first(self, lineno: int, text: str) -> int | None:
        """The index of the first filter that matches, None, or _TIMED_OUT."""
        long = len(text) > LONG
        for joined, index, members in self.stages:
            if joined is not None and not long:
                m = joined(text)
                if m is not None:
                    return index[m.lastindex]
                continue
            for k in members:
                found = self._try(k, lineno, text)
                if found is not None:
                    return found
        return None

    def _try(self, k: int, lineno: int, text: str) -> int | None:
        if self._timeouts[k] >= MAX_TIMEOUTS:   # given up: as if it matched nothing, so the
            return None                         # later filters still classify (and progress)
        try:
            return k if self.compiled[k].run(text) else None
        except TimeoutError:
            self._timeouts[k] += 1
            if self._timeouts[k] == 1:
                self.warnings.append(_timeout_warning(self.filters[k], k, lineno))
            return _TIMED_OUT

    def take_warnings(self) -> list[str]:
        """The warnings not handed over yet."""
        new, self._taken = self.warnings[self._taken:], len(self.warnings)
        return new

    def _advance(self, progress: float | str) -> float | None:
        if isinstance(progress, str):
            self.steps += float(progress[1:])
            if self.expected:
                self.progress = min(100.0, round(100.0 * self.steps / self.expected, 2))
        else:
            self.progress = float(progress)
        return self.progress


def _timeout_warning(f: LogFilter, k: int, lineno: int) -> str:
    where = f.where or f"filter {k + 1}"
    return (f"{where}: warning: the pattern {f.pattern!r} ran out of time on line {lineno} of the "
            f"log; such lines stay unclassified, and after {MAX_TIMEOUTS} the filter is skipped "
            "(the filters after it classify the lines)")


Stage = tuple[Callable[[str], Any] | None, dict[int, int], tuple[int, ...]]


def _stages(compiled: list[Compiled]) -> list[Stage]:
    """Consecutive joinable filters as one alternation, each alternative ending with an empty
    group (closed last, so the match's `lastindex`: its number -> filter index); each other
    filter alone. Within a stage, `members` are tried one by one on long lines."""
    stages: list[Stage] = []
    run: list[int] = []
    for k, c in enumerate(compiled + [None]):
        if c is not None and c.text is not None:
            run.append(k)
            continue
        if run:
            stages.append(_joined(compiled, run))
            run = []
        if c is not None:
            stages.append((None, {}, (k,)))
    return stages


def _joined(compiled: list[Compiled], members: list[int]) -> Stage:
    index, group, parts = {}, 0, []
    for k in members:
        c = compiled[k]
        group += re.compile(c.text).groups + 1    # its own groups, then its empty one
        index[group] = k
        parts.append(f"{c.text}()")
    try:
        joined = re.compile("|".join(parts))
    except (re.error, RecursionError, OverflowError):
        return None, {}, tuple(members)   # tried one by one, as written
    return joined.match, index, tuple(members)


def classify(lines: Iterable[str], filters: Iterable[LogFilter],
             expected_steps: int | None = None) -> Iterator[Entry]:
    """The entries of a log's lines (without their newlines), numbered from 1."""
    return Classifier(filters, expected_steps).entries(lines)


CLASSIFIED = ".jsonl"   # a log's classified entries sit beside it, as `<log>.jsonl`


def to_jsonl(entries: Iterable[Entry]) -> str:
    """One JSON object a line; `attributes` only when a filter has some (files written before
    attributes existed read the same)."""
    return "".join(json.dumps(_plain(e), ensure_ascii=False, default=_json) + "\n" for e in entries)


def _plain(e: Entry) -> dict[str, Any]:
    d = e._asdict()
    if not d["attributes"]:
        del d["attributes"]
    return d


def _json(value: Any) -> Any:
    """Frozen attribute values (read-only maps, tuples) as JSON."""
    return dict(value) if isinstance(value, Mapping) else list(value)


def from_jsonl(text: str) -> list[Entry]:
    """The entries in the text of a `.jsonl` log; a line that is not an entry is skipped (the
    file came through git like any other, so it may have been edited by hand)."""
    found = []
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        entry = _from_item(item) if isinstance(item, dict) else None
        if entry:
            found.append(entry)
    return found


def _from_item(item: dict) -> Entry | None:
    """An entry from its parsed line, or None when a field the readers rely on is off."""
    line, severity, text = item.get("line"), item.get("severity"), item.get("text")
    if not (isinstance(line, int) and isinstance(severity, str) and isinstance(text, str)):
        return None
    verbosity, progress = item.get("verbosity"), item.get("progress")
    attributes = item.get("attributes")
    return Entry(line, severity, verbosity if isinstance(verbosity, int) else 0, text,
                 progress if isinstance(progress, (int, float)) else None,
                 attributes if isinstance(attributes, dict) else {})
