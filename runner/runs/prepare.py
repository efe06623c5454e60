"""Staging a run's tasks: application files, dataset inputs and job scripts into each task's work
dir (written there on this machine, else sent in one archive per infrastructure)."""

from __future__ import annotations

from pathlib import Path

from runner.declarations.models import Repository
from runner.errors import MsoError, StagingError
from runner.fsutil import inside
from runner.plan.resolve import TaskPlan
from runner.runs import lifecycle
from runner.runs.active import ActiveRun, Place
from runner.schedulers import script
from runner.staging import stagein
from runner.staging.tree import Tree
from runner.state import State


def prepare(run: ActiveRun, repo: Repository) -> None:
    """Stage inputs and job scripts of every pending task not yet prepared, then upload them."""
    for name, place in run.places.items():
        done = place.area.prepared()
        todo = [t.id for t in run.tasks_on(name) if t.state == State.PENDING and t.id not in done]
        if todo:
            _stage(run, repo, place, todo)


def _stage(run: ActiveRun, repo: Repository, place: Place, todo: list[str]) -> None:
    try:
        shared = {}
        for name in sorted({i.dataset for tid in todo for i in run.tasks[tid].inputs if i.dataset}):
            shared[name] = stagein.fetch(repo.datasets[name], repo, place.area.stage)
        place.area.upload({tid: _tree(run, repo, run.tasks[tid], shared) for tid in todo})
    except MsoError as exc:
        lifecycle.stage_in_failed(run, f"stage-in failed: {exc}")
        raise
    except OSError as exc:
        lifecycle.stage_in_failed(run, f"stage-in failed: {exc}")
        raise StagingError(f"{run.record.experiment}: preparing the work dir failed: {exc}") from None


def _tree(run: ActiveRun, repo: Repository, task: TaskPlan, shared: dict[str, Path]) -> Tree:
    """The task's work dir as it starts: the application's files, its dataset inputs, the job
    script (inputs from earlier steps are placed when the task starts: they do not exist yet)."""
    tree = Tree(texts=[(script.SCRIPT, run.place(task.id).scheduler.render(run.job(task.id)))])
    app_files = Path(repo.root) / "applications" / task.application.split("@")[0]
    if app_files.is_dir():
        for src in app_files.rglob("*"):
            if not inside(src, Path(repo.root)):
                raise StagingError(f"{src} is a symlink that leaves the repository")
        tree.copies.append((".", app_files))
    tree.shared += [(i.target, shared[i.dataset]) for i in task.inputs if i.dataset]
    return tree
