"""What earlier runs in results/ tell about each infrastructure: how long jobs waited in its
queue (and what the scheduler had predicted), how long an application's tasks ran there, how
fast datasets were staged to it, and how long its cloud servers took to boot.

Only the newest READ runs of the repository are read (run ids sort by time), those that ended,
and at most RECENT observations of each kind count, so a cluster's behaviour last month weighs
nothing against last week's, and a repository with years of campaigns is read in a moment. Which infrastructure a
task ran on comes from the run's plan.json (a step may name its own); a run without one counts
under the infrastructure its record names.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from runner import state
from runner.results.markdown import seconds_between
from runner.errors import StateError
from runner.state import PLAN, RunRecord, TaskRecord

RECENT = 10   # observations of one kind that count, newest first
READ = 200    # runs read at most, newest first


@dataclass(frozen=True)
class Wait:
    """One run's wait in a queue: from its first submission there to its first task's start."""

    seconds: float
    estimate: float | None    # what the scheduler itself had predicted, when placement asked


@dataclass(frozen=True)
class _Run:
    record: RunRecord
    places: Mapping[str, str]     # task id -> infrastructure


class History:
    """The ended runs of a repository, newest first."""

    def __init__(self, runs: Iterable[_Run]) -> None:
        self.runs = list(runs)

    @classmethod
    def of(cls, results: Path) -> "History":
        newest = sorted(results.glob(f"*/*/{state.RECORD}"), key=lambda p: p.parent.name,
                        reverse=True)[:READ]
        found = []
        for path in newest:
            try:
                record = state.load(path)
            except StateError:   # a damaged record says nothing; `mso status` tells about it
                continue
            if record.state in state.TERMINAL:
                found.append(_Run(record, _places(path.parent, record)))
        return cls(found)

    def _tasks(self, infra: str) -> Iterable[tuple[RunRecord, list[TaskRecord]]]:
        for run in self.runs:
            tasks = [t for t in run.record.tasks
                     if run.places.get(t.id) == infra and not t.reused and t.started]
            if tasks:
                yield run.record, tasks

    def waits(self, infra: str, cpus: int) -> list[Wait]:
        """Recent queue waits of jobs of about this size (half to twice the CPUs) there."""
        out = []
        for record, tasks in self._tasks(infra):
            similar = [t for t in tasks if _cpus(t) and cpus / 2 <= _cpus(t) <= cpus * 2]
            first = min((t.submitted for t in similar if t.submitted), default=None)
            wait = seconds_between(first, min(t.started for t in similar)) if similar else None
            if wait is not None:
                out.append(Wait(wait, _estimate(record, infra)))
            if len(out) == RECENT:
                break
        return out

    def run_times(self, application: str, parameters: Mapping[str, Any],
                  infra: str) -> tuple[list[float], str]:
        """Recent run times of the application's tasks, the most alike first found: the same
        parameters there, the same parameters anywhere, any parameters there, anywhere; with
        which of these it is, in words."""
        here, anywhere = [], []
        for run in self.runs:
            if run.record.application.get("name") != application:
                continue
            for t in run.record.tasks:
                took = None if t.reused or t.state != state.State.SUCCEEDED else \
                    seconds_between(t.started, t.ended)
                if took is not None:
                    entry = (took, dict(t.parameters) == dict(parameters))
                    (here if run.places.get(t.id) == infra else anywhere).append(entry)
        for pool, same, words in ((here, True, f"this point's earlier runs on {infra}"),
                                  (anywhere, True, "this point's earlier runs elsewhere"),
                                  (here, False, f"{application}'s tasks on {infra}"),
                                  (anywhere, False, f"{application}'s tasks elsewhere")):
            found = [took for took, alike in pool if alike or not same][:RECENT]
            if found:
                return found, words
        return [], ""

    def throughput(self, infra: str) -> tuple[float, int] | None:
        """Bytes per second of recent stage-ins to the infrastructure, and how many there were;
        copies that moved nothing (found in a cache) do not count."""
        copies = [c for run in self.runs for place, staged in run.record.staged.items()
                  if _infra(run.record, place) == infra for c in staged.values()
                  if c.get("bytes") and c.get("seconds")][:RECENT]
        seconds = sum(c["seconds"] for c in copies)
        return (sum(c["bytes"] for c in copies) / seconds, len(copies)) if seconds > 0 else None

    def boot_times(self, infra: str) -> list[float]:
        """Recent times from a server's creation to its answering SSH (made, not taken warm)."""
        out = [seconds_between(s.get("created"), s.get("ready"))
               for run in self.runs for s in run.record.servers
               if s.get("infrastructure") == infra and not s.get("warm_from")]
        return [b for b in out if b is not None][:RECENT]


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def _cpus(task: TaskRecord) -> int:
    return (task.requested or {}).get("cpus", 1)


def _estimate(record: RunRecord, infra: str) -> float | None:
    """The scheduler's own estimate recorded when placement chose this infrastructure."""
    for decision in record.placement:
        if decision.get("chosen") == infra:
            return decision.get("predictions", {}).get(infra, {}).get("estimate")
    return None


def _infra(record: RunRecord, place: str) -> str:
    """The infrastructure of a place a run used: a cloud server (`cloud.2`) is its cloud's."""
    for server in record.servers:
        if server.get("place") == place:
            return server.get("infrastructure", place)
    return place


def _places(folder: Path, record: RunRecord) -> dict[str, str]:
    """Task id -> infrastructure, from plan.json; the record's own infrastructure without it."""
    try:
        tasks = json.loads((folder / PLAN).read_text())["tasks"]
        return {t["id"]: _infra(record, t["infrastructure"]) for t in tasks}
    except (OSError, ValueError, KeyError, TypeError):
        name = record.infrastructure.get("name", "")
        return {t.id: name for t in record.tasks}
