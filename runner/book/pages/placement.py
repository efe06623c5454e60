"""The run page's Placement section: per choice among candidate infrastructures, its one-line
summary, each candidate's predicted times beside what happened on the chosen one, and the
inputs behind every prediction."""

from __future__ import annotations

from typing import Mapping

from runner.placement import words
from runner.results import markdown as md
from runner.state import RunRecord

HEAD = ("Infrastructure", "Wait", "Boot", "Transfer", "Run", "Total")
TIMES = ("wait", "boot", "transfer", "run", "total")
CHOSEN_BY = {"auto": "the soonest predicted completion", "first": "the first candidate "
             "(`placement: first`)", "override": "the MSO_PLACEMENT variable"}


def section(record: RunRecord) -> str:
    """Every placement decision of the run, one after the other."""
    return "\n\n".join(_decision(d, record) for d in record.placement)


def _decision(decision: Mapping, record: RunRecord) -> str:
    steps = ", ".join(md.code(s) for s in decision["steps"])
    by = CHOSEN_BY.get(decision.get("mode", ""), md.text(decision.get("mode", "")))
    parts = [f"**{md.text(words.line(decision))}**",
             f"Steps {steps}, predicted at {md.when(decision.get('predicted_at'))} UTC; "
             f"{md.text(decision['chosen'])} chosen by {by}.",
             md.table(HEAD, _rows(decision, record))]
    reasons = _why(decision)
    if reasons:
        parts.append("\n".join(reasons))
    return "\n\n".join(parts)


def _rows(decision: Mapping, record: RunRecord) -> list[list[str]]:
    """A row per candidate (the chosen one marked), then what happened on the chosen one."""
    predicted = decision.get("predictions") or {}
    rows = []
    for name in decision["candidates"]:
        label = md.text(name)
        if name == decision["chosen"]:
            label = f"**{label}** (chosen)"
        times = predicted.get(name) or {}
        rows.append([label, *(md.duration(times.get(part)) for part in TIMES)])
    happened = words.actual(decision, record)
    rows.append([f"actual, on {md.text(decision['chosen'])}",
                 *(md.duration(happened.get(part)) for part in TIMES)])
    return rows


def _why(decision: Mapping) -> list[str]:
    """The inputs behind each prediction, and why a candidate has none, as list items."""
    predicted = decision.get("predictions") or {}
    unpredicted = decision.get("unpredicted") or {}
    items = []
    for name in decision["candidates"]:
        if name in unpredicted:
            items.append(f"- {md.text(name)}: not predicted: {md.text(unpredicted[name])}")
        why = (predicted.get(name) or {}).get("why") or {}
        order = [p for p in TIMES if p in why] + sorted(set(why) - set(TIMES))
        items += [f"- {md.text(name)}, {md.text(part)}: {md.text(why[part])}" for part in order]
    return items
