"""VM-hours on `openstack` infrastructures, from the cloud servers the run records list.

A server counts from when it was made until it was deleted; one kept warm for a later run counts
until its `kept_until`, but no later than `now` (when the book is built), and one still up counts
until `now`. A server that a later run took warm (`warm_from`) is listed by both runs under the
same id, and is counted once: from its first `created` to the end its last holder recorded (the
last holder's end, not the latest of all: a warm server taken and then deleted early ends there,
before the `kept_until` its earlier run wrote).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from runner.book.pages.usage_tally import month
from runner.results import markdown as md
from runner.results.records import Run

Hold = tuple[dt.datetime, Run, dict[str, Any]]   # (created, the run, its entry for the server)


@dataclass(frozen=True)
class Server:
    """One cloud server, over every run that held it."""

    id: str
    infrastructure: str
    runs: tuple[Run, ...]     # the runs that held it, the one that made it first
    seconds: float            # from made to deleted (or kept warm until, or now)
    until_now: bool = False   # still up, or kept warm beyond `now`: counted until `now`


@dataclass
class VmTally:
    """Servers, the runs that held them and their time, over a group of servers."""

    servers: int = 0
    runs: set[tuple[str, str]] = field(default_factory=set)   # (experiment, run id)
    seconds: float = 0.0

    @property
    def hours(self) -> float:
        """The servers' time in hours."""
        return self.seconds / 3600

    def add(self, server: Server) -> None:
        """Count one server in."""
        self.servers += 1
        self.runs.update((r.experiment, r.run_id) for r in server.runs)
        self.seconds += server.seconds


def servers(runs: Iterable[Run], now: dt.datetime) -> list[Server]:
    """Every server the runs list, once per id, by infrastructure and id; `now` is tz-aware."""
    held: dict[tuple[str, str], list[Hold]] = defaultdict(list)
    for run in runs:
        for entry in run.record.servers:
            made = md.parse_time(entry.get("created"))
            if made is not None:
                key = (str(entry.get("infrastructure", "")), str(entry.get("id", "")))
                held[key].append((made, run, entry))
    return [_server(infra, sid, sorted(holds, key=lambda h: h[0]), now)
            for (infra, sid), holds in sorted(held.items())]


def _server(infra: str, sid: str, holds: list[Hold], now: dt.datetime) -> Server:
    """A server from its holds, oldest first."""
    end, until_now = ended(holds[-1][2], now)
    seconds = max(0.0, (end - holds[0][0]).total_seconds())
    return Server(sid, infra, tuple(run for _, run, _ in holds), seconds, until_now)


def ended(entry: dict[str, Any], now: dt.datetime) -> tuple[dt.datetime, bool]:
    """When a server's entry stops counting (deleted, else kept warm until but no later than
    `now`, else `now`: still up), and whether that is `now`."""
    deleted = md.parse_time(entry.get("deleted"))
    if deleted is not None:
        return deleted, False
    kept = md.parse_time(entry.get("kept_until"))
    if kept is not None and kept <= now:
        return kept, False
    return now, True


def tally(found: Iterable[Server], key: Callable[[Server], str]) -> dict[str, VmTally]:
    """The servers counted per key, sorted by key."""
    groups: dict[str, VmTally] = defaultdict(VmTally)
    for server in found:
        groups[key(server)].add(server)
    return dict(sorted(groups.items()))


def by_infrastructure(server: Server) -> str:
    """The openstack infrastructure the server ran on."""
    return server.infrastructure


def by_month(server: Server) -> str:
    """The month (UTC) of the run that made the server (or first took it)."""
    return month(server.runs[0])


def hours(t: VmTally | None) -> str:
    """VM-hours for a table cell."""
    return md.NONE if t is None else f"{t.hours:,.2f}"
