"""The classifier joins filters into one pattern and classifies lines in batches (one byte a
line for the filter that matched, a leading `^` left out, an empty group ending each filter):
every line must get what the filters, tried one by one with Python's `re` as MSO4SC's
remotelogger-cli did, give it."""

from __future__ import annotations

import random
import re

import pytest

from runner.declarations.models import LogFilter, freeze
from runner.logs import batch
from runner.logs.classify import Classifier, classify

FILTERS = [
    LogFilter("^$", "INFO", verbosity=3),
    LogFilter("^a|^b:", "WARNING", progress="+1"),            # a prefix the parser factors
    LogFilter(r"^(\d+) (x|y)", "ERROR", attributes=freeze({"kind": "numbered"})),
    LogFilter("^:=", "OK", progress=50),
    LogFilter("^ab", "INFO", action="fullmatch"),
    LogFilter("^=", "INFO", skip=True, progress="+2"),
    LogFilter("^[ \t]*[:|=]", verbosity=2),
    LogFilter("^x", action="search"),                           # anchored, searched
    LogFilter("b=", "WARNING", action="search"),
    LogFilter(r"\A1", "ERROR"),
]


def one_by_one(lines: list[str], filters: list[LogFilter], expected: int | None) -> list[tuple]:
    """The entries as the filters give them, each tried alone with `re`."""
    steps, progress, out = 0.0, None, []
    for n, text in enumerate(lines, 1):
        f = next((f for f in filters if getattr(re.compile(f.pattern), f.action)(text)), None)
        if f is None or f.skip:
            continue
        if isinstance(f.progress, str):
            steps += float(f.progress[1:])
            progress = min(100.0, round(100.0 * steps / expected, 2)) if expected else progress
        elif f.progress is not None:
            progress = float(f.progress)
        out.append((n, f.severity, f.verbosity, text, progress, dict(f.attributes)))
    return out


def random_lines(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice("ab1 :=\txy") for _ in range(rnd.randint(0, 6)))
            for _ in range(count)]


@pytest.mark.parametrize("size", [7, 1000, batch.BATCH])
def test_batches_give_what_the_filters_give_one_by_one(monkeypatch, size: int) -> None:
    monkeypatch.setattr(batch, "BATCH", size)
    lines = random_lines(3000, seed=size)
    expected = one_by_one(lines, FILTERS, 40)
    assert {e[1] for e in expected} == {"INFO", "WARNING", "ERROR", "OK"}   # each kind is met
    got = [(*e[:5], dict(e.attributes)) for e in classify(lines, FILTERS, expected_steps=40)]
    assert got == expected


def test_a_line_at_a_time_gives_the_same() -> None:
    lines = random_lines(2000, seed=5)
    c = Classifier(FILTERS, expected_steps=None)
    got = [(*e[:5], dict(e.attributes)) for n, text in enumerate(lines, 1)
           if (e := c.classify(n, text)) is not None]
    assert got == one_by_one(lines, FILTERS, None)


def test_the_joined_pattern_drops_only_a_leading_anchor() -> None:
    """`^` where a match starts is always true: the joined pattern leaves it out, so that
    Python's alternation skips a filter on its first character."""
    joined = Classifier(FILTERS)._only.__self__.pattern
    assert joined.startswith("(?:$)()|(?:a|^b:)()|(?:(\\d+) (x|y))()|(?::=)()|")
    assert r"(?:ab)\Z()" in joined and r"(?s:.*?)(?:^x)()" in joined and r"\A1" in joined


def test_a_pattern_with_too_many_groups_for_a_batch_is_classified_a_line_at_a_time() -> None:
    many = LogFilter("^" + "(x)" * 260, "ERROR")
    filters = [many, *FILTERS]
    c = Classifier(filters)
    assert c._only is not None and c._batches is None
    lines = ["x" * 260, *random_lines(500, seed=9)]
    got = [(*e[:5], dict(e.attributes)) for e in classify(lines, filters, expected_steps=40)]
    assert got == one_by_one(lines, filters, 40) and got[0][1] == "ERROR"
