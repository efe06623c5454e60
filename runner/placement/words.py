"""A placement decision (an entry of `RunRecord.placement`) for people: its one-line summary,
and what happened on the chosen infrastructure, part by part, to set against the predictions."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Iterable, Mapping

from runner.results import markdown as md
from runner.state import TERMINAL, RunRecord, TaskRecord

PARTS = ("wait", "boot", "transfer", "run")
SHOWN_FROM = 5.0   # seconds: a shorter predicted part is left out of the line (run never is)
CHOSEN_BY = {"first": "placement: first", "override": "MSO_PLACEMENT"}


def line(decision: Mapping) -> str:
    """`cluster: wait ~14 min + run 6 min; cloud: boot 2 min + run 9 min → cloud`: each
    candidate's predicted parts in declared order, then the choice, saying who made it when it
    was not the soonest prediction (`→ cluster (MSO_PLACEMENT)`, `(placement: first)`)."""
    candidates = list(decision["candidates"])
    predicted = decision.get("predictions") or {}
    unpredicted = decision.get("unpredicted") or {}
    if predicted or unpredicted:
        head = "; ".join(_candidate(name, predicted.get(name), unpredicted.get(name))
                         for name in candidates)
    else:   # a choice made without predictions (an override, `first`): the candidates alone
        head = ", ".join(candidates)
    by = CHOSEN_BY.get(decision.get("mode", ""))
    return f"{head} → {decision['chosen']}" + (f" ({by})" if by else "")


def _candidate(name: str, predicted: Mapping | None, why_not: str | None) -> str:
    if predicted is None:
        return f"{name}: not predicted" + (f" ({why_not})" if why_not else "")
    shown = [f"{part} {about(predicted.get(part) or 0.0)}" for part in PARTS
             if part == "run" or (predicted.get(part) or 0.0) > SHOWN_FROM]
    return f"{name}: " + " + ".join(shown)


def about(seconds: float) -> str:
    """A predicted time to the minute, with `~` when that rounded it: `~14 min`, `6 min`, `42 s`."""
    whole = int(round(seconds))
    return ("~" if whole >= 60 and whole % 60 else "") + md.duration(seconds, rough=True)


def actual(decision: Mapping, record: RunRecord) -> dict[str, float | None]:
    """What the decision's steps took on the chosen infrastructure, in seconds: wait (the first
    start after the first submission; 0 on a cloud, whose servers have no queue), boot (a
    cloud's servers, median from made to ready), transfer (stage-in there), run (first start to
    last end) and total (from the prediction to the last end). None where the record lacks the
    times: a run still going, or only reused tasks (they did not run, so they are left out)."""
    chosen = decision["chosen"]
    ran = [t for t in record.tasks if t.step in decision["steps"] and not t.reused]
    going = not ran or any(t.state not in TERMINAL for t in ran)
    first_start = _earliest(ran, "started")
    last_end = None if going else _latest(ran, "ended")
    cloud = _is_cloud(record, chosen)
    return {"wait": 0.0 if cloud else _between(_earliest(ran, "submitted"), first_start),
            "boot": _boot(record, chosen) if cloud else 0.0,
            "transfer": _transfer(record, chosen),
            "run": _between(first_start, last_end),
            "total": _between(md.parse_time(decision.get("predicted_at")), last_end)}


def _times(tasks: Iterable[TaskRecord], name: str) -> list[dt.datetime]:
    return [t for t in (md.parse_time(getattr(task, name)) for task in tasks) if t]


def _earliest(tasks: list[TaskRecord], name: str) -> dt.datetime | None:
    return min(_times(tasks, name), default=None)


def _latest(tasks: list[TaskRecord], name: str) -> dt.datetime | None:
    return max(_times(tasks, name), default=None)


def _between(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    """Seconds from start to end; None without both, or when clocks disagree (end first)."""
    return (end - start).total_seconds() if start and end and end >= start else None


def _is_cloud(record: RunRecord, infrastructure: str) -> bool:
    """Whether the infrastructure is an `openstack` one: the run made servers there, or it is
    the run's own infrastructure and of that kind."""
    own = record.infrastructure or {}
    return (any(s.get("infrastructure") == infrastructure for s in record.servers)
            or (own.get("name") == infrastructure and own.get("kind") == "openstack"))


def _boot(record: RunRecord, infrastructure: str) -> float | None:
    """The median time from made (or taken warm) to ready of the run's servers there."""
    booted = [_between(md.parse_time(s.get("created")), md.parse_time(s.get("ready")))
              for s in record.servers if s.get("infrastructure") == infrastructure]
    known = [b for b in booted if b is not None]
    return statistics.median(known) if known else None


def _transfer(record: RunRecord, infrastructure: str) -> float | None:
    """The seconds stage-in took there, summed over datasets; 0 with no input datasets."""
    if not record.datasets:
        return 0.0
    places = {infrastructure} | {s.get("place") for s in record.servers
                                 if s.get("infrastructure") == infrastructure}
    staged = [c for place, copies in record.staged.items() if place in places
              for c in copies.values()]   # a cloud's are per server: `cloud.1`, `cloud.2`
    if not staged or any(c.get("seconds") is None for c in staged):
        return None
    return float(sum(c["seconds"] for c in staged))
