"""A scripted scheduler and a small run built around it, so the watcher, submit, reconcile and the
lifecycle are tested on their own: no process, no host, no monkeypatching."""

from __future__ import annotations

import itertools
from pathlib import Path

from runner.declarations.models import Infrastructure
from runner.errors import SubmitLimited
from runner.plan.resolve import TaskPlan
from runner.runs.active import ActiveRun, Place
from runner.schedulers import script
from runner.schedulers.base import Job, JobStatus, Scheduler
from runner.staging.area import LocalArea
from runner.state import RunRecord, State, TaskRecord
from runner.transports.base import Offline

_SERIAL = itertools.count()
_JOB_IDS = itertools.count(100)   # unique across schedulers, as on one cluster
INFRA = Infrastructure(name="fake", kind="slurm", poll_min=0.0, poll_max=0.0)


class ScriptedScheduler(Scheduler):
    """Jobs live in a dict the test changes; every call is recorded."""

    def __init__(self, infra: Infrastructure = INFRA, chains: bool = False) -> None:
        super().__init__(infra, Offline("fake"))
        self.chains = chains
        self.jobs: dict[str, JobStatus] = {}      # what status() says; a missing id: forgotten
        self.names: dict[str, str] = {}           # job name -> id, for find()
        self.calls: list[tuple[str, object]] = []
        self.refuse: Exception | None = None      # raised by the next submit()
        self.cap: int | None = None               # the site's limit on queued jobs

    def render(self, job: Job) -> str:
        return f"#!/bin/bash\n# {job.name}\n"

    def submit(self, jobs: list[Job], after: dict[str, list[str]] | None = None) -> list[str]:
        self.calls.append(("submit", [j.name for j in jobs]))
        if self.refuse is not None:
            raise self.refuse
        live = sum(1 for s in self.jobs.values() if not s.ended)
        room = len(jobs) if self.cap is None else max(0, self.cap - live)
        ids = []
        for j in jobs[:room]:
            job_id = str(next(_JOB_IDS))
            self.names[j.name], self.jobs[job_id] = job_id, JobStatus(State.QUEUED)
            ids.append(job_id)
        if room < len(jobs):   # as sbatch says when an association's MaxSubmitJobs is reached
            raise SubmitLimited("AssocMaxSubmitJobLimit", dict(zip((j.name for j in jobs), ids)))
        return ids

    def find(self, jobs: list[Job]) -> dict[str, str]:
        self.calls.append(("find", [j.name for j in jobs]))
        return {j.name: self.names[j.name] for j in jobs if j.name in self.names}

    def status(self, jobs: dict[str, Job]) -> dict[str, JobStatus]:
        self.calls.append(("status", sorted(jobs)))
        return {j: self.jobs[j] for j in jobs if j in self.jobs}

    def cancel(self, job_ids: list[str]) -> None:
        self.calls.append(("cancel", list(job_ids)))
        for j in job_ids:
            self.jobs[j] = JobStatus(State.CANCELLED, "cancelled by a user")

    def called(self, name: str) -> list[object]:
        return [args for what, args in self.calls if what == name]


def task(tid: str, step: str = "main", index: int = 0, needs: tuple[str, ...] = (),
         outputs: tuple[str, ...] = ()) -> TaskPlan:
    return TaskPlan(id=tid, step=step, index=index, application="app@1", infrastructure="fake",
                    parameters={}, argv=("true",), needs=needs, outputs=outputs)


def make_run(tmp: Path, tasks: list[TaskPlan], sched: ScriptedScheduler | None = None,
             events: list[str] | None = None) -> ActiveRun:
    """A run of these tasks on a scripted scheduler, its work dirs under tmp/work."""
    sched = sched or ScriptedScheduler()
    run_id = f"20261130T000000Z-abcdef01-{next(_SERIAL):06d}"   # each run its own job names
    record = RunRecord(run_id=run_id, experiment="exp",
                       spec_hash="abcdef01", application={}, infrastructure={},
                       tasks=[TaskRecord(t.id, t.step, t.index, {}, list(t.needs)) for t in tasks])
    area = LocalArea(tmp / "work")
    for t in tasks:
        (area.stage / t.id / script.META).mkdir(parents=True, exist_ok=True)
    run = ActiveRun(record, {t.id: t for t in tasks}, tmp / "results" / "exp" / record.run_id,
                    {"fake": Place(INFRA, sched, area)})
    if events is not None:
        run.listen = lambda r, t, text: events.append(f"{t.id}: {text}")
    run.save()
    return run


def wrapper_done(run: ActiveRun, task_id: str, code: int) -> None:
    """What the job wrapper leaves when its command exits with `code`."""
    work = run.place(task_id).area.stage / task_id
    (work / script.STARTED).write_text("2026-11-30T00:00:00Z\n")
    (work / script.ENDED).write_text("2026-11-30T00:00:01Z\n")
    (work / script.EXIT).write_text(f"{code}\n")
