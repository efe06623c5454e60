"""Classifying many lines at once when one joined pattern decides them all (the common case):
every per-line step is a C-level iterator or loop (match, its group, the entry's fields, the
entry itself), so a log of a million lines costs about what matching it does; see
Classifier.entries.

The joined pattern gets one more, empty, alternative at its end: every line then matches, and
that last group says "no filter matched" (Python's alternation takes the first alternative that
matches, so it never hides a filter). A batch's groups are one byte a line (`bytes`: its C-level
translate and split find the lines that move the progress or are dropped); what each group
makes is in lists indexed by the group. Progress is filled in only in a batch that moves it,
entries are filtered only in a batch that drops one.
"""

from __future__ import annotations

import re
from itertools import chain, compress, count, islice, repeat, starmap
from operator import add, attrgetter, itemgetter
from typing import Any, Callable, Iterable, Iterator

BATCH = 4096             # lines classified together: few enough that their line objects
                         # are still in the CPU cache when their entries are made
_group = attrgetter("lastindex")


def batchable(joined: re.Pattern) -> bool:
    """Whether a group number of the joined pattern (and its two more) fits in a byte."""
    return joined.groups + 2 < 256


class Batches:
    """The joined pattern's classifying, a batch of lines at a time. `made[g]` is what group g
    makes: (skip, progress, severity, verbosity, attributes), or None for an inner group."""

    def __init__(self, joined: re.Pattern, made: list, new: Callable, entry: type) -> None:
        self.match = re.compile(f"{joined.pattern}|()", joined.flags).match
        made = [*made, *[None] * (joined.groups + 1 - len(made)), None]   # the empty one: none
        self.severity = [m and m[2] for m in made]
        self.verbosity = [m and m[3] for m in made]
        self.attributes = [m and m[4] for m in made]
        kept = [bool(m) and not m[0] for m in made]
        self.moves = [m[1] if m and not m[0] else None for m in made]   # progress it makes
        moving = [move is not None for move in self.moves]
        self.kept = bytes(kept + [False] * (256 - len(kept)))          # translate tables
        self.moving = bytes(moving + [False] * (256 - len(moving)))
        self.all_kept = bytes(g for g, k in enumerate(kept) if k)     # translate's deletions
        self.still = bytes(g for g in range(256) if g >= len(moving) or not moving[g])
        self.new, self.entry = new, entry

    def entries(self, lines: list[str], start: int, progress: Any,
                advance: Callable[[Iterable], list]) -> Iterator:
        """The entries of `lines` (none longer than the engines' limit), numbered from `start`;
        `progress` is the progress before them, `advance(moves)` the progress after each of
        these moves, in order."""
        groups = bytes(map(_group, map(self.match, lines)))
        moved = groups.translate(None, self.still)     # the groups of the lines that move it
        shown = (self._shown(groups, progress, advance(map(self.moves.__getitem__, moved)))
                 if moved else repeat(progress))
        pick = itemgetter(*groups, 0)                  # a tuple, even for one line
        fields = zip(count(start), pick(self.severity), pick(self.verbosity), lines, shown,
                     pick(self.attributes))
        made = starmap(self.new, zip(repeat(self.entry), fields))   # no call tuple made
        if not groups.translate(None, self.all_kept):
            return made
        return compress(made, groups.translate(self.kept))

    def _shown(self, groups: bytes, progress: Any, after: list) -> Iterator:
        """The progress at each line: `progress` up to the first line that moves it, then
        the progress after each move up to the next."""
        before, *runs = map(len, groups.translate(self.moving).split(b"\x01"))
        return chain(repeat(progress, before),
                     chain.from_iterable(map(repeat, after, map(add, runs, repeat(1)))))


def chunks(lines: Iterable[str]) -> Iterator[list[str]]:
    """The lines in lists of BATCH."""
    if isinstance(lines, list):         # sliced: not a line at a time
        i = 0
        while i < len(lines):
            yield lines[i:i + BATCH]
            i += BATCH
        return
    it = iter(lines)
    while batch := list(islice(it, BATCH)):
        yield batch
