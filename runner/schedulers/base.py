"""The narrow interface every scheduler backend implements, and the registry that picks one by kind.

A backend is handed a Transport (it never opens SSH itself). Each operation is a command builder
plus a pure parser of the tool's text output, so parsing is tested from recorded real output.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import PurePosixPath

from runner.errors import SchedulerError
from runner.plan import TaskPlan
from runner.spec.models import Infrastructure, plain
from runner.state import State
from runner.transports.base import Transport


@dataclass(frozen=True)
class Job:
    """One task as a scheduler sees it."""

    task: TaskPlan
    name: str                   # mso.<run-id>.<task-id>: a job can always be found again
    work_dir: PurePosixPath     # the task's work dir on the infrastructure


@dataclass(frozen=True)
class JobStatus:
    state: State
    reason: str | None = None


class Scheduler(ABC):
    """Render a job script, submit a batch, ask for many jobs' states at once, cancel."""

    chains = False   # True: submit() honours `after`, so later steps wait in the queue, not in mso

    def __init__(self, infra: Infrastructure, transport: Transport) -> None:
        self.infra, self.transport = infra, transport

    @abstractmethod
    def render(self, job: Job) -> str:
        """The job's wrapper script (runner.schedulers.script) with this scheduler's header."""

    @abstractmethod
    def submit(self, jobs: list[Job], after: dict[str, list[str]] | None = None) -> list[str]:
        """Submit jobs of one step of one run (scripts already in place); their ids, in order.
        A scheduler with arrays submits them as one array (ids like `123_4`). `after` (only
        given when `chains`): by job name, the ids each job must wait for to succeed."""

    @abstractmethod
    def find(self, jobs: list[Job]) -> dict[str, str]:
        """Ids of those jobs that were already submitted (by a runner that died before recording
        it), by job name, so they are adopted rather than submitted twice."""

    @abstractmethod
    def status(self, jobs: dict[str, Job]) -> dict[str, JobStatus]:
        """States of the given jobs (by id) in one query; ids it cannot tell about are left out.
        An unknown native state means 'keep watching', never 'done'."""

    @abstractmethod
    def cancel(self, job_ids: list[str]) -> None:
        """Stop the jobs; already finished ones are ignored."""

    @property
    def max_parallel(self) -> int | None:
        """Tasks running at once that mso itself must respect (None: the scheduler decides)."""
        return self.infra.max_parallel


_REGISTRY = {
    "local": ("runner.schedulers.process:ProcessScheduler", ""),
    "ssh": ("runner.schedulers.process:ProcessScheduler", "paramiko"),
    "slurm": ("runner.schedulers.slurm:SlurmScheduler", "paramiko"),
    "pbs": ("runner.schedulers.pbs:PbsScheduler", "paramiko"),
    "torque": ("runner.schedulers.torque:TorqueScheduler", "paramiko"),
}
_TRANSPORTS: dict[str, Transport] = {}
_SCHEDULERS: dict[str, Scheduler] = {}


def _key(infra: Infrastructure) -> str:
    """The whole declaration: a changed infrastructure is a new one."""
    return json.dumps(plain(infra), sort_keys=True, default=str)


def transport_for(infra: Infrastructure) -> Transport:
    """One transport (one connection) per infrastructure per process."""
    key = _key(infra)
    if key not in _TRANSPORTS:
        if infra.kind == "local":
            from runner import secrets
            from runner.transports.local import LocalTransport
            # the runner's own interpreter first: `python` in a command is the one mso runs with
            path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
            # tasks start without the tokens and credentials mso holds
            _TRANSPORTS[key] = LocalTransport(env={"PATH": path}, inherit=secrets.task_environment())
        else:
            from runner.transports.ssh import SSHTransport
            _TRANSPORTS[key] = SSHTransport.for_infrastructure(infra)
    return _TRANSPORTS[key]


def close_transports() -> None:
    for t in _TRANSPORTS.values():
        t.close()
    _TRANSPORTS.clear()
    _SCHEDULERS.clear()


def for_infrastructure(infra: Infrastructure) -> Scheduler:
    """The backend for an infrastructure's kind (one per infrastructure per process, so one
    status query covers every run's jobs there); one not available says so when chosen."""
    key = _key(infra)
    if key not in _SCHEDULERS:
        _SCHEDULERS[key] = _backend(infra)(infra, transport_for(infra))
    return _SCHEDULERS[key]


def renderer(infra: Infrastructure) -> Scheduler:
    """A backend that only renders job scripts: no connection, no credentials needed."""
    from runner.transports.base import Offline
    return _backend(infra)(infra, Offline(infra.host))


def _backend(infra: Infrastructure) -> type[Scheduler]:
    if infra.kind not in _REGISTRY:
        raise SchedulerError(f"{infra.path}: infrastructures of kind '{infra.kind}' cannot run "
                             f"in this version of mso (available: {', '.join(_REGISTRY)})")
    target, needs = _REGISTRY[infra.kind]
    module, cls = target.split(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise SchedulerError(f"{infra.path}: the '{infra.kind}' backend needs {needs or exc.name}; "
                             f"install it (pip install {needs or exc.name})") from None
