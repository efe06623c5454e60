"""A run being executed or watched: its record, its planned tasks, and where they run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from runner import state
from runner.containers.runtime import Image
from runner.declarations.models import Infrastructure, Repository
from runner.plan.resolve import TaskPlan
from runner.schedulers.base import Job, Scheduler
from runner.secrets import Secrets
from runner.staging.area import WorkArea
from runner.state import RunRecord, State, TaskRecord

Listener = Callable[["ActiveRun", TaskRecord, str], None]
# new classified lines of one of a task's logs, as they arrive while it runs: (run, task, the
# log's path in the work dir, the entries: runner.logs.classify.Entry)
LogListener = Callable[["ActiveRun", TaskRecord, str, list], None]


def _quiet(run: "ActiveRun", task: TaskRecord, text: str) -> None:
    """The listener of a run nobody watches."""


def _deaf(run: "ActiveRun", task: TaskRecord, log: str, entries: list) -> None:
    """The log listener of a run nobody watches."""


@dataclass(frozen=True)
class Place:
    """Where some of a run's tasks execute: an infrastructure, its scheduler, the run's work
    area there."""

    infra: Infrastructure
    scheduler: Scheduler
    area: WorkArea


@dataclass
class ActiveRun:
    """A run being executed or watched: its record, its tasks and where they run. Changes go
    through runner/runs/lifecycle.py; `listen` hears about each one (the terminal, the tests)."""

    record: RunRecord
    tasks: dict[str, TaskPlan]
    results: Path               # results/<experiment>/<run-id>
    places: dict[str, Place]    # by infrastructure name: a step may run somewhere else
    keep_workdir: bool = False
    secrets: Secrets = field(default_factory=Secrets)
    # (infrastructure, application) -> the image its tasks run in (runner/runs/images.py)
    images: dict[tuple[str, str], Image] = field(default_factory=dict)
    # the declarations it was started or resumed with: where large outputs go, what is published
    repo: Repository | None = field(default=None, repr=False)
    listen: Listener = field(default=_quiet, repr=False)
    hear: LogListener = field(default=_deaf, repr=False)
    dirty: bool = field(default=False, repr=False)
    # tasks that may have been submitted without the record saying so, whose jobs are looked
    # for before submitting them (never twice): None for every pending task (a run read back
    # from disk: a runner may have died between sbatch and saving); a run created by this
    # process starts with none, and gains those whose submission failed midway
    unsure: set[str] | None = field(default=None, repr=False)
    lease_renewed: float = field(default=0.0, repr=False)   # its cloud servers' (monotonic)
    _mtime: int = field(default=0, repr=False)
    # the record's tasks are fixed at creation: indexes built once, read on every watcher tick
    _by_id: dict[str, TaskRecord] = field(init=False, repr=False)
    _on: dict[str, list[TaskRecord]] = field(init=False, repr=False)
    _jobs: dict[str, Job] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._by_id = {t.id: t for t in self.record.tasks}
        self._on = {name: [] for name in self.places}
        for t in self.record.tasks:
            self._on.setdefault(self.tasks[t.id].infrastructure, []).append(t)

    def task(self, task_id: str) -> TaskRecord:
        return self._by_id[task_id]

    def tasks_on(self, infrastructure: str) -> list[TaskRecord]:
        """The task records that run on an infrastructure."""
        return self._on.get(infrastructure, [])

    @property
    def finished(self) -> bool:
        """Whether every task has ended."""
        return all(t.state.terminal for t in self.record.tasks)

    @property
    def paused(self) -> bool:
        return self.record.state == State.PAUSED

    def place(self, task_id: str) -> Place:
        return self.places[self.tasks[task_id].infrastructure]

    def job(self, task_id: str) -> Job:
        """The task as its scheduler sees it (made once: every status query names every job)."""
        if task_id not in self._jobs:
            t = self.tasks[task_id]
            self._jobs[task_id] = Job(t, f"mso.{self.record.run_id}.{task_id}",
                                      self.place(task_id).area.task_dir(task_id),
                                      self.images.get((t.infrastructure, t.application.split("@")[0])))
        return self._jobs[task_id]

    def changed(self, task: TaskRecord, text: str) -> None:
        """A task's record changed: save at the end of the tick, and tell the listener."""
        self.dirty = True
        self.listen(self, task, text)

    def warn(self, task: TaskRecord, text: str) -> None:
        """Something worth saying that changes nothing."""
        self.listen(self, task, f"warning: {text}")

    def save(self) -> None:
        """Write the record; a cancellation written meanwhile by `mso cancel` wins."""
        self.check_cancelled()
        self.record.state = self.record.derive_state()
        state.save(self.record, self.results)
        self._mtime = (self.results / state.RECORD).stat().st_mtime_ns
        self.dirty = False

    def check_cancelled(self) -> bool:
        """Adopt a cancellation another process (`mso cancel`) wrote into the record."""
        on_disk = self.results / state.RECORD
        try:
            mtime = on_disk.stat().st_mtime_ns
        except OSError:
            return False
        if mtime == self._mtime or self.record.cancelled_by:
            return False
        self._mtime = mtime
        theirs = state.load(on_disk)
        if not theirs.cancelled_by:
            return False
        self.record.cancelled_by, self.record.reason = theirs.cancelled_by, theirs.reason
        for t in self.record.tasks:
            mine = theirs.task(t.id)
            # the cancellation wins over a failure seen meanwhile (its jobs were being killed)
            if mine.state == State.CANCELLED and t.state != State.SUCCEEDED:
                t.state, t.reason = mine.state, mine.reason
        self.dirty = True
        return True
