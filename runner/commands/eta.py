"""How far a watched run has got: each running task's progress, the tasks done, and an ETA.

Pure and clock-free: every method takes `now` (seconds on one monotonic clock), so the console
(runner/commands/console.py) passes its clock in and a test passes numbers.

The ETA counts work in tasks. A running task has 1 - progress/100 of itself left (or, without a
progress filter, what its elapsed time leaves of a typical task's duration); a task not yet
running has all of itself left. A typical task lasts the mean of the durations of the tasks seen
from start to end and of the totals that running tasks' progress projects (elapsed * 100 /
progress). The work left, times that duration, is shared by as many lanes as tasks run now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SHOWN_RUNNING = 4      # running tasks named in a summary line
_MIN_PROGRESS = 1.0    # below this a task's projected total is noise


@dataclass
class RunProgress:
    """One run's tasks as the console has seen them."""

    experiment: str
    total: int
    done: set[str] = field(default_factory=set)
    began: dict[str, float] = field(default_factory=dict)     # running: task id -> seen running at
    percent: dict[str, float] = field(default_factory=dict)   # running: task id -> last progress
    durations: list[float] = field(default_factory=list)      # of tasks seen from start to end

    def running(self, task_id: str, now: float) -> None:
        """The task runs (first seen now, unless seen before)."""
        if task_id not in self.done:
            self.began.setdefault(task_id, now)

    def progressed(self, task_id: str, percent: float, now: float) -> None:
        """The task's log says it is `percent` % done."""
        if task_id not in self.done:
            self.running(task_id, now)
            self.percent[task_id] = max(0.0, min(100.0, float(percent)))

    def ended(self, task_id: str, now: float) -> None:
        """The task ended (however): its duration counts when it was seen starting."""
        if task_id in self.done:
            return
        self.done.add(task_id)
        began = self.began.pop(task_id, None)
        if began is not None:
            self.durations.append(now - began)
        self.percent.pop(task_id, None)

    def typical(self, now: float) -> float | None:
        """A task's expected duration, or None before anything tells."""
        seen = list(self.durations)
        seen += [(now - self.began[t]) * 100.0 / p for t, p in self.percent.items()
                 if p >= _MIN_PROGRESS]
        return sum(seen) / len(seen) if seen else None

    def eta(self, now: float) -> float | None:
        """Seconds until every task has ended; None while nothing tells how long a task takes."""
        waiting = self.total - len(self.done) - len(self.began)
        if waiting + len(self.began) <= 0:
            return 0.0
        typical = self.typical(now)
        if typical is None:
            return None
        left = waiting + sum(self._left(t, now, typical) for t in self.began)
        return left * typical / max(len(self.began), 1)

    def _left(self, task_id: str, now: float, typical: float) -> float:
        """The part of a running task still to do."""
        if task_id in self.percent:
            return 1.0 - self.percent[task_id] / 100.0
        return max(0.0, 1.0 - (now - self.began[task_id]) / typical) if typical else 0.0

    def summary(self, now: float) -> str:
        """`heat-sweep: 12/100 done, 8 running (main-0013 45 %, main-0014, ...), ETA 3m10s`."""
        text = f"{self.experiment}: {len(self.done)}/{self.total} done"
        if self.began:
            names = [self._named(t) for t in list(self.began)[:SHOWN_RUNNING]]
            more = ", ..." if len(self.began) > SHOWN_RUNNING else ""
            text += f", {len(self.began)} running ({', '.join(names)}{more})"
        return f"{text}, {eta_text(self.eta(now))}"

    def _named(self, task_id: str) -> str:
        p = self.percent.get(task_id)
        return task_id if p is None else f"{task_id} {p:g} %"


def eta_text(seconds: float | None) -> str:
    """`ETA 3m10s`, `ETA 45s`, `ETA 2h05m`; `ETA unknown` while nothing tells."""
    if seconds is None:
        return "ETA unknown"
    s = max(0, math.ceil(seconds))
    if s < 60:
        return f"ETA {s}s"
    if s < 3600:
        return f"ETA {s // 60}m{s % 60:02d}s"
    return f"ETA {s // 3600}h{s % 3600 // 60:02d}m"
