"""Figures about a run, from its record alone: task counts, start, wall time, task-hours."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from runner.results import markdown as md
from runner.results.records import Run


@dataclass(frozen=True)
class RunFacts:
    """Counts and times of one run, from its record alone."""

    total: int
    succeeded: int
    failed: int
    started: str | None
    wall_seconds: float | None
    task_seconds: float


def of(run: Run) -> RunFacts:
    """The facts of a run."""
    tasks = run.record.tasks
    counts = Counter(t.state for t in tasks)
    starts = sorted(t.started for t in tasks if t.started)
    ends = sorted(t.ended for t in tasks if t.ended)
    done = all(t.ended for t in tasks) and bool(tasks)
    wall = md.seconds_between(starts[0], ends[-1]) if starts and ends and done else None
    busy = sum(md.seconds_between(t.started, t.ended) or 0.0 for t in tasks)
    return RunFacts(len(tasks), counts["succeeded"], counts["failed"],
                    starts[0] if starts else run.record.created, wall, busy)
