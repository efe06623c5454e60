"""The narrow interface every scheduler backend implements, and the registry that picks one by kind."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import PurePosixPath

from runner.errors import SchedulerError
from runner.plan import TaskPlan
from runner.spec.models import Infrastructure
from runner.state import State


@dataclass(frozen=True)
class Job:
    """One task as a scheduler sees it."""

    task: TaskPlan
    name: str                   # carries the run id and the task, so a job can be found again
    work_dir: PurePosixPath


@dataclass(frozen=True)
class JobStatus:
    state: State
    reason: str | None = None


class Scheduler(ABC):
    """Render a job script, submit it, ask for many jobs' states at once, cancel."""

    def __init__(self, infra: Infrastructure) -> None:
        self.infra = infra

    @abstractmethod
    def render(self, job: Job) -> str:
        """The job script's text."""

    @abstractmethod
    def submit(self, job: Job) -> str:
        """Start or submit the job (its script is already in place); return its id."""

    @abstractmethod
    def find(self, job: Job) -> str | None:
        """The id of this job if it was already submitted (by a runner that died before recording
        it), so it is adopted rather than submitted twice."""

    @abstractmethod
    def status(self, jobs: dict[str, Job]) -> dict[str, JobStatus]:
        """States of the given jobs (by id) in one query; unknown ids are left out."""

    @abstractmethod
    def cancel(self, job_ids: list[str]) -> None:
        """Stop the jobs; already finished ones are ignored."""

    @property
    def max_parallel(self) -> int | None:
        return self.infra.max_parallel


_REGISTRY = {"local": "runner.schedulers.local:LocalScheduler"}


def for_infrastructure(infra: Infrastructure) -> Scheduler:
    """The backend for an infrastructure's kind; one not yet available says so when chosen."""
    target = _REGISTRY.get(infra.kind)
    if target is None:
        raise SchedulerError(f"{infra.path}: infrastructures of kind '{infra.kind}' cannot run "
                             f"yet in this version of mso (available: {', '.join(_REGISTRY)})")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(infra)
