"""Staging a run's tasks: application files, dataset inputs and job scripts into each task's work
dir (built in a local staging folder, then uploaded in one archive per infrastructure)."""

from __future__ import annotations

import shutil
from pathlib import Path

from runner.declarations.models import Repository
from runner.errors import MsoError, StagingError
from runner.fsutil import inside
from runner.plan.resolve import TaskPlan
from runner.runs import lifecycle
from runner.runs.active import ActiveRun, Place
from runner.schedulers import script
from runner.staging import stagein
from runner.state import State

PREPARED = f"{script.META}/prepared"  # in a staged task dir: inputs and script are in place


def prepare(run: ActiveRun, repo: Repository) -> None:
    """Stage inputs and job scripts of every pending task not yet prepared, then upload them."""
    for name, place in run.places.items():
        stage = place.area.stage
        todo = [t.id for t in run.tasks_on(name) if t.state == State.PENDING
                and not (stage / t.id / PREPARED).exists()]
        if todo:
            _stage(run, repo, place, todo)


def _stage(run: ActiveRun, repo: Repository, place: Place, todo: list[str]) -> None:
    stage = place.area.stage
    try:
        shared = {}
        for name in sorted({i.dataset for tid in todo for i in run.tasks[tid].inputs if i.dataset}):
            shared[name] = stagein.fetch(repo.datasets[name], repo, stage)
        for tid in todo:
            _prepare_task(run, repo, run.tasks[tid], shared)
        place.area.upload(todo)
        for tid in todo:
            (stage / tid / PREPARED).touch()
    except MsoError as exc:
        lifecycle.stage_in_failed(run, f"stage-in failed: {exc}")
        raise
    except OSError as exc:
        lifecycle.stage_in_failed(run, f"stage-in failed: {exc}")
        raise StagingError(f"{run.record.experiment}: preparing the work dir failed: {exc}") from None


def _prepare_task(run: ActiveRun, repo: Repository, task: TaskPlan, shared: dict[str, Path]) -> None:
    place = run.place(task.id)
    task_dir = place.area.stage / task.id
    (task_dir / script.META).mkdir(parents=True, exist_ok=True)
    app_files = Path(repo.root) / "applications" / task.application.split("@")[0]
    if app_files.is_dir():
        for src in app_files.rglob("*"):
            if not inside(src, Path(repo.root)):
                raise StagingError(f"{src} is a symlink that leaves the repository")
        shutil.copytree(app_files, task_dir, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for staged in task.inputs:
        if staged.dataset:
            stagein.place(staged, shared[staged.dataset], task_dir)
    # inputs from earlier steps are placed when the task starts (they do not exist yet)
    # a plain write: staged files are made again if a crash leaves one half-written
    (task_dir / script.SCRIPT).write_text(place.scheduler.render(run.job(task.id)))
