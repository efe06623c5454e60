"""Resuming after a crash: an unfinished record in results/ is read back with its plan, what was
not staged yet is staged, and the watcher goes on. Nothing is submitted twice: before a task is
submitted its scheduler is asked for a job of the same name (`Scheduler.find`), and a job found
is adopted (runner/runs/lifecycle.py `submitted(..., adopted=True)`) instead."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from runner import state
from runner.declarations.models import Repository
from runner.errors import StateError
from runner.plan.resolve import TaskPlan
from runner.runs import cloudhosts, images, lifecycle, prepare
from runner.runs.active import ActiveRun
from runner.runs.places import place
from runner.schedulers.context import Context
from runner.state import PLAN, RunRecord, State


def unfinished(repo: Repository, experiment: str) -> list[tuple[Path, RunRecord]]:
    """The experiment's runs whose record is not in a terminal state, oldest first."""
    results = Path(repo.root) / "results"
    return [(p, r) for p, r in state.records(results, experiment) if not r.state.terminal]


def load(ctx: Context, repo: Repository, results: Path, record: RunRecord) -> ActiveRun:
    """An unfinished run found in results/, with its tasks and places read back from its plan."""
    try:
        saved = json.loads((results / PLAN).read_text())
    except (OSError, ValueError):
        raise StateError(f"{results}/{PLAN} is missing or damaged, so the run cannot be resumed; "
                         f"`mso cancel {record.run_id}` closes it") from None
    tasks = {t["id"]: TaskPlan.from_plain(t) for t in saved["tasks"]}
    dirs = saved.get("work_dirs") or {saved["infrastructure"]: record.work_dir}
    repo = cloudhosts.view(repo, record.servers)   # its cloud servers, as hosts again
    places = {n: place(ctx, repo, repo.infrastructure(n), record.run_id, PurePosixPath(w))
              for n, w in dirs.items()}
    return ActiveRun(record, tasks, results, places, saved["keep_workdir"], ctx.secrets,
                     images=images.for_jobs(record.images, places), repo=repo)


def resume(ctx: Context, repo: Repository, results: Path, record: RunRecord) -> ActiveRun:
    """Go on with an unfinished run: stage what was not staged yet, then watch."""
    run = load(ctx, repo, results, record)
    for name, why in cloudhosts.lost(run).items():   # a cloud server deleted meanwhile
        run.places.pop(name, None)
        lifecycle.host_lost(run, [t for t in run.tasks_on(name) if not t.state.terminal], why)
    if record.state == State.PAUSED:
        record.state, record.reason = State.RUNNING, None
    prepare.prepare(run, repo)
    return run
