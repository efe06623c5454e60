"""A log filter's pattern, compiled so that no pattern can hang the runner on any line.

Two engines. The `regex` package matches with a time limit (TIMEOUT per line) and reads every
pattern Python's `re` reads (and more); it is the rule. Python's `re`, ten times faster per call
here, is used only for a pattern whose worst case is proven small before it runs: a pattern
without backreferences or lookarounds whose repeats repeat one character and do not nest, with
at most one unbounded repeat in an anchored attempt (none when searched), and few alternatives.
Backtracking then tries at most (line length + 1) x alternatives paths, each no longer than the
pattern (`bounded`). The OPM Flow filters, and most log filters, are such patterns. A line longer
than LONG is matched by `regex`, whatever the pattern.

`action` says how a pattern is applied, as MSO4SC's remotelogger-cli did with Python's `re`:
`match` (the default: at the start of the line), `search` (anywhere), `fullmatch` (the whole line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import regex

ACTIONS = ("match", "search", "fullmatch")
TIMEOUT = 0.05               # seconds `regex` may spend on one line for one pattern
LONG = 64 * 1024             # characters: a longer line is matched by `regex` (a time limit)
MAX_PATHS = 4096             # alternatives x pattern length for a pattern run by `re`

try:  # the parser of Python's own `re`: what it finds decides which engine runs a pattern
    from re import _constants as _c, _parser as _p
except ImportError:  # pragma: no cover - a Python without them: every pattern uses `regex`
    _c = _p = None


class PatternError(ValueError):
    """A pattern that neither engine reads; `pos` is where in the pattern, when known."""

    def __init__(self, message: str, pos: int | None) -> None:
        super().__init__(message)
        self.pos = pos


@dataclass(frozen=True)
class Compiled:
    """One pattern, ready: `fast` (Python's `re`, proven bounded) or None; `slow` (`regex`,
    with a time limit) or None when only `re` reads it; `text` the pattern as `re` runs it for
    its action, to be joined with others (None when it cannot be: global flags, named groups;
    a leading `^` left out, see _unanchored)."""

    pattern: str
    action: str
    fast: Any
    slow: Any
    text: str | None

    def run(self, line: str) -> bool:
        """Whether the pattern applies to `line`; TimeoutError when `regex` ran out of time."""
        if self.fast is not None and len(line) <= LONG or self.slow is None:
            return getattr(self.fast, self.action)(line) is not None
        return getattr(self.slow, self.action)(line, timeout=TIMEOUT) is not None


@lru_cache(maxsize=4096)   # the same filters are written in many applications, read by many logs
def compile_pattern(pattern: str, action: str = "match") -> Compiled:
    """The pattern compiled for its action; PatternError when no engine reads it."""
    fast = slow = None
    problem: Exception | None = None
    try:
        slow = regex.compile(pattern)
    except regex.error as exc:
        problem = exc
    try:
        compiled = re.compile(pattern)
        if bounded(pattern, action):
            fast = compiled
    except (re.error, OverflowError, RecursionError) as exc:
        problem = problem or exc
    if fast is None and slow is None:
        raise PatternError(_message(problem), getattr(problem, "pos", None))
    return Compiled(pattern, action, fast, slow, _joinable(fast, action))


def always(pattern: str, action: str) -> bool:
    """Whether the pattern matches every line: only repeats that may repeat nothing (and `^`),
    matched or searched, as a catch-all `[\\s\\S]*` (then the line need not be read)."""
    if _p is None or action == "fullmatch":
        return False
    try:
        items = list(_p.parse(pattern))
    except (re.error, RecursionError, OverflowError):
        return False
    return all(op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT) and av[0] == 0
               or op is _c.AT and av in (_c.AT_BEGINNING, _c.AT_BEGINNING_STRING)
               for op, av in items)


def problem(pattern: str, action: str = "match") -> PatternError | None:
    """Why a pattern cannot be used, or None (what `mso validate` asks)."""
    try:
        compile_pattern(pattern, action)
    except PatternError as exc:
        return exc
    return None


def _message(exc: Exception | None) -> str:
    text = str(exc) if exc else "not a regular expression"
    return text.split(" at position ")[0]


def _joinable(fast: Any, action: str) -> str | None:
    """The pattern as one alternative of a joined pattern applied with `match`."""
    if fast is None or fast.flags & ~re.UNICODE or fast.groupindex:
        return None   # a global flag would apply to all; a group name could be taken twice
    if always(fast.pattern, action):
        return ""     # which filter matched is all that is asked: the empty match says it
    if action == "search":
        return f"(?s:.*?)(?:{fast.pattern})"
    body = f"(?:{_unanchored(fast.pattern)})"
    return body + r"\Z" if action == "fullmatch" else body


def _unanchored(pattern: str) -> str:
    """A matched pattern without its leading `^` (true where a match starts, so only a cost;
    without it the joined pattern skips this alternative on its first character)."""
    if not pattern.startswith("^"):
        return pattern
    items = list(_p.parse(pattern))
    return pattern[1:] if items and items[0] == (_c.AT, _c.AT_BEGINNING) else pattern


# --- the bound ---------------------------------------------------------------------------------

class _Unbounded(Exception):
    """The pattern may backtrack without a small bound."""


def bounded(pattern: str, action: str = "match") -> bool:
    """Whether Python's `re` takes at most (n + 1) x MAX_PATHS steps on a line of n characters."""
    if _p is None:
        return False
    try:
        parsed = _p.parse(pattern)
        paths, degree = _seq(list(parsed))
    except (_Unbounded, re.error, RecursionError, OverflowError):
        return False
    anchored = action != "search" or _starts_anchored(list(parsed), parsed.state.flags)
    return degree + (0 if anchored else 1) <= 1 and paths * max(1, len(pattern)) <= MAX_PATHS


def _starts_anchored(items: list, flags: int) -> bool:
    """`^` or `\\A` first, without MULTILINE: searching is then matching at the start."""
    if not items or items[0][0] is not _c.AT:
        return False
    at = items[0][1]
    return at is _c.AT_BEGINNING_STRING or (at is _c.AT_BEGINNING and not flags & re.MULTILINE)


_ONE_CHAR = None   # filled below: opcodes that match exactly one character
_ZERO = None       # opcodes that match no character and never backtrack


def _seq(items: list) -> tuple[int, int]:
    """(alternative paths, number of unbounded repeats) of a sequence of parsed items."""
    paths, degree = 1, 0
    for op, av in items:
        p, d = _item(op, av)
        paths, degree = paths * p, degree + d
        if paths > MAX_PATHS:
            raise _Unbounded
    return paths, degree


def _item(op: Any, av: Any) -> tuple[int, int]:
    if op in _ONE_CHAR or op in _ZERO:
        return 1, 0
    if op is _c.SUBPATTERN:
        return _seq(list(av[-1]))
    if op is _c.ATOMIC_GROUP:
        return _seq(list(av))
    if op is _c.BRANCH:
        found = [_seq(list(alt)) for alt in av[1]]
        return sum(p for p, _ in found), max(d for _, d in found)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        low, high, body = av
        if not _one_char(list(body)):
            raise _Unbounded          # a repeat of more than one character: may nest
        if high == low:
            return 1, 0
        if high is not _c.MAXREPEAT and high - low <= 16:
            return high - low + 1, 0
        return 1, 1
    raise _Unbounded                  # backreferences, lookarounds, conditionals


def _one_char(items: list) -> bool:
    while len(items) == 1 and items[0][0] is _c.SUBPATTERN:
        items = list(items[0][1][-1])
    return len(items) == 1 and items[0][0] in _ONE_CHAR


if _c is not None:
    _ONE_CHAR = frozenset({_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN})
    _ZERO = frozenset({_c.AT})
