"""The usage page's figures, from the run records alone: counts, times and the largest requests.

A job is a task that ran (a task reused from an earlier run used nothing in this one). Its
reserved core time is the cores it asked for times its elapsed time (one core when it asked for
none); its used core time is the CPU time the wrapper or the scheduler's accounting reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.results import markdown as md
from runner.results.records import Run
from runner.state import TaskRecord

UNKNOWN = "unknown"   # the user of a run recorded before runs said who triggered them


@dataclass(frozen=True)
class Job:
    """One task that ran, as the usage page counts it."""

    cpus: int
    memory_mb: int | None
    elapsed_s: float | None
    cpu_s: float | None

    @property
    def reserved_s(self) -> float:
        """Core-seconds held: cores asked for times elapsed time."""
        return self.cpus * (self.elapsed_s or 0.0)


def user(run: Run) -> str:
    """Who triggered the run, or `unknown`."""
    return run.record.triggered_by or UNKNOWN


def month(run: Run) -> str:
    """The run's month (UTC), from its id: YYYY-MM."""
    return f"{run.run_id[:4]}-{run.run_id[4:6]}"


def infrastructure(run: Run) -> str:
    """The name of the infrastructure the run went to."""
    return str(run.record.infrastructure.get("name", UNKNOWN))


def jobs(run: Run) -> list[Job]:
    """The run's tasks that ran (not reused) as jobs."""
    return [job(t) for t in run.record.tasks if not t.reused]


def job(task: TaskRecord) -> Job:
    """What a task asked for and used."""
    asked, used = task.requested or {}, task.usage or {}
    elapsed = used.get("elapsed_s")
    if elapsed is None:
        elapsed = md.seconds_between(task.started, task.ended)
    return Job(int(asked.get("cpus") or 1), asked.get("memory_mb"), elapsed, used.get("cpu_s"))


@dataclass
class Tally:
    """Counts over a group of runs."""

    runs: int = 0
    runs_ok: int = 0
    runs_failed: int = 0
    tasks: int = 0
    tasks_ok: int = 0
    tasks_failed: int = 0
    jobs: int = 0
    task_s: float = 0.0
    reserved_s: float = 0.0
    used_s: float = 0.0
    used_known: int = 0           # jobs whose CPU time is known
    most_cpus: int = 0
    most_memory_mb: int | None = None
    users: set[str] = field(default_factory=set)

    def add(self, run: Run) -> None:
        """Count one run in."""
        rec = run.record
        self.runs += 1
        self.runs_ok += rec.state == "succeeded"
        self.runs_failed += rec.state == "failed"
        self.tasks += len(rec.tasks)
        self.tasks_ok += sum(t.state == "succeeded" for t in rec.tasks)
        self.tasks_failed += sum(t.state == "failed" for t in rec.tasks)
        self.users.add(user(run))
        for j in jobs(run):
            self._add_job(j)

    def _add_job(self, j: Job) -> None:
        self.jobs += 1
        self.task_s += j.elapsed_s or 0.0
        self.reserved_s += j.reserved_s
        if j.cpu_s is not None:
            self.used_s += j.cpu_s
            self.used_known += 1
        self.most_cpus = max(self.most_cpus, j.cpus)
        if j.memory_mb is not None:
            self.most_memory_mb = max(self.most_memory_mb or 0, j.memory_mb)


def core_time(seconds: float) -> str:
    """Core time for people: seconds and minutes for short ones, hours past a day's worth."""
    if seconds >= 100 * 3600:
        return f"{seconds / 3600:,.0f} h"
    return md.duration(seconds)


def unit(largest_s: float) -> tuple[str, float]:
    """The unit that plots core times of this size readably: its name and its seconds."""
    if largest_s >= 3600:
        return "hours", 3600.0
    return ("minutes", 60.0) if largest_s >= 60 else ("seconds", 1.0)


def memory(mb: int | None) -> str:
    """Memory asked for, in MiB or GiB."""
    return md.NONE if mb is None else md.size(mb * 1024 * 1024)
