"""Classifying many lines at once when one joined pattern decides them all (the common case):
every per-line step is a C-level iterator (match, its group, the entry's fields, the entry
itself), so a log of a million lines costs about what matching it does; see Classifier.entries.

The joined pattern gets one more, empty, alternative at its end: every line then matches, and
that last group says "no filter matched" (Python's alternation takes the first alternative that
matches, so it never hides a filter). What each group makes is in lists indexed by the group.
"""

from __future__ import annotations

import re
from itertools import compress, count, islice, repeat
from operator import attrgetter
from typing import Any, Callable, Iterable, Iterator

BATCH = 65536            # lines classified together (their entries are made lazily)
_group = attrgetter("lastindex")


class Batches:
    """The joined pattern's classifying, a batch of lines at a time. `made[g]` is what group g
    makes: (skip, progress, severity, verbosity, attributes), or None for an inner group."""

    def __init__(self, joined: re.Pattern, made: list, new: Callable, entry: type) -> None:
        self.match = re.compile(f"{joined.pattern}|()", joined.flags).match
        made = [*made, *[None] * (joined.groups + 1 - len(made)), None]   # the empty one: none
        self.severity = [m and m[2] for m in made]
        self.verbosity = [m and m[3] for m in made]
        self.attributes = [m and m[4] for m in made]
        self.kept = [bool(m) and not m[0] for m in made]
        self.moves = [m[1] if m and not m[0] else None for m in made]   # progress it makes
        self.new, self.entry = new, entry

    def entries(self, lines: list[str], start: int, progress: Any,
                advance: Callable[[Any], Any]) -> Iterator:
        """The entries of `lines` (none longer than the engines' limit), numbered from `start`;
        `progress` is the progress before them, `advance(move)` the progress after a move."""
        groups = list(map(_group, map(self.match, lines)))
        moving = [i for i, g in zip(count(), groups) if self.moves[g] is not None]
        if moving:
            values = list(repeat(progress, len(lines)))
            for i, j in zip(moving, [*moving[1:], len(lines)]):
                progress = advance(self.moves[groups[i]])
                values[i:j] = repeat(progress, j - i)
            shown: Iterable = values
        else:
            shown = repeat(progress)
        fields = zip(count(start), map(self.severity.__getitem__, groups),
                     map(self.verbosity.__getitem__, groups), lines, shown,
                     map(self.attributes.__getitem__, groups))
        made = map(self.new, repeat(self.entry), fields)
        return compress(made, map(self.kept.__getitem__, groups))


def chunks(lines: Iterable[str]) -> Iterator[list[str]]:
    """The lines in lists of BATCH."""
    it = iter(lines)
    while batch := list(islice(it, BATCH)):
        yield batch
