"""The narrow interface every scheduler backend implements (runner/schedulers/context.py picks one
by the infrastructure's kind).

A backend is handed a Transport (it never opens SSH itself). Each operation is a command builder
plus a pure parser of the tool's text output, so parsing is tested from recorded real output.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from runner.containers.runtime import Image
from runner.plan.resolve import TaskPlan
from runner.declarations.models import Infrastructure, Resources
from runner.state import State
from runner.transports.base import Transport


@dataclass(frozen=True)
class Job:
    """One task as a scheduler sees it."""

    task: TaskPlan
    name: str                   # mso.<run-id>.<task-id>: a job can always be found again
    work_dir: PurePosixPath     # the task's work dir on the infrastructure
    image: Image | None = None  # the container the command runs in (None: on the host)


@dataclass(frozen=True)
class JobStatus:
    """What a scheduler says of one job: a state of its own, or `state` None when the job ended
    and the scheduler cannot tell how (then the wrapper's exit code alone decides)."""

    state: State | None
    reason: str | None = None
    # what the scheduler's accounting says the job used (TaskRecord.usage's keys), when it tells;
    # not part of a status's identity (two answers of the same state and reason are equal)
    usage: dict | None = field(default=None, compare=False)
    # the controller says the job ended but the accounting has not recorded it yet (it lags
    # seconds behind): how it ended may still change (an out-of-memory kill is the accounting's
    # word), and its usage figures are to come: the watcher waits for it
    provisional: bool = field(default=False, compare=False)

    @property
    def ended(self) -> bool:
        """Whether the scheduler says the job is over (however it ended)."""
        return self.state is None or self.state.terminal


ENDED = JobStatus(None)   # over, outcome unknown to the scheduler


class Scheduler(ABC):
    """Render a job script, submit a batch, ask for many jobs' states at once, cancel."""

    chains = False   # True: submit() honours `after`, so later steps wait in the queue, not in mso
    held: str | None = None   # why admit() held jobs back (a site limit), if it did

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
        """States of the given jobs (by id) in one query, as the scheduler alone tells them: it
        never reads the wrapper's files (runner/runs/completion.py joins the two). Ids it cannot
        tell about (forgotten, or a native state mso does not know) are left out."""

    @abstractmethod
    def cancel(self, job_ids: list[str]) -> None:
        """Stop the jobs; already finished ones are ignored."""

    def start_estimate(self, res: Resources) -> float | None:
        """Seconds from now until the scheduler would start one task with these resources, by
        its own estimate; None when it gives none (here: a backend without such an estimate)."""
        return None

    def admit(self, jobs: list[Job], queued: int) -> list[Job]:
        """Of these ready jobs (one step of one run), those to submit now, while `queued` of
        mso's jobs are at this scheduler: here, as many as `limits.max_parallel` leaves room
        for. Sets `held` to why the others wait, when a site's limit holds them."""
        if self.infra.max_parallel is None:
            return jobs
        return jobs[:max(0, self.infra.max_parallel - queued)]
