"""Staging a run's tasks: datasets into each host's data cache (once per run per infrastructure,
verified before anything of the run is written), then application files, dataset inputs (read-only
links to that cache) and job scripts into each task's work dir (written there on this machine,
else sent in one archive per infrastructure)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from runner.data import stagein as data_stagein
from runner.data.runnercache import RunnerCache, default_root
from runner.declarations.models import Repository
from runner.errors import MsoError, StagingError
from runner.fsutil import inside
from runner.plan.resolve import TaskPlan
from runner.runs import lifecycle
from runner.runs.active import ActiveRun, Place
from runner.schedulers import script
from runner.staging.area import RemoteArea
from runner.staging.tree import Tree
from runner.state import State
from runner.transports.local import LocalTransport

Say = Callable[[str], None]


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def stage_in(repo: Repository, tasks: Iterable[TaskPlan], places: Mapping[str, Place],
             say: Say = _stderr) -> dict[str, dict[str, dict]]:
    """Every dataset the tasks read, into the cache of the host they run on (one transfer per
    run per infrastructure, verified there): what RunRecord.staged keeps. A StagingError (a
    mismatch, a failed transfer) comes before anything of the run is written."""
    tasks, staged = list(tasks), {}
    for name, place in sorted(places.items()):
        used = sorted({i.dataset for t in tasks if t.infrastructure == name
                       for i in t.inputs if i.dataset})
        if used:
            staged[name] = data_stagein.stage_all(
                [repo.datasets[d] for d in used], Path(repo.root), host(place),
                RunnerCache(default_root(Path(repo.root))), say)
    return staged


def host(place: Place) -> data_stagein.Host:
    """An infrastructure as stage-in sees it: its work root (the parent of the run's work dir),
    how to reach it, and the route its declaration asks for."""
    area = place.area
    if isinstance(area, RemoteArea):
        route = "direct" if place.infra.data_access == "direct" else "relayed"
        return data_stagein.Host(place.infra.name, str(area.root.parent), area.transport, route)
    return data_stagein.Host(place.infra.name, str(area.root.parent), LocalTransport(), "local")


def prepare(run: ActiveRun, repo: Repository) -> None:
    """Stage inputs and job scripts of every pending task not yet prepared, then upload them."""
    for name, place in run.places.items():
        done = place.area.prepared()
        todo = [t.id for t in run.tasks_on(name) if t.state == State.PENDING and t.id not in done]
        if todo:
            _stage(run, repo, place, todo)


def _stage(run: ActiveRun, repo: Repository, place: Place, todo: list[str]) -> None:
    try:
        shared = _staged(run, repo, place, todo)
        place.area.upload({tid: _tree(run, repo, run.tasks[tid], shared) for tid in todo})
    except MsoError as exc:
        lifecycle.stage_in_failed(run, f"stage-in failed: {exc}")
        raise
    except OSError as exc:
        lifecycle.stage_in_failed(run, f"stage-in failed: {exc}")
        raise StagingError(f"{run.record.experiment}: preparing the work dir failed: {exc}") from None


def _staged(run: ActiveRun, repo: Repository, place: Place, todo: list[str]) -> dict[str, str]:
    """The host cache path of each dataset these tasks read; one a run staged before it was
    written is taken from its record, any other (a run resumed from an older record) is staged
    now and recorded."""
    name = place.infra.name
    record = run.record.staged.get(name, {})
    missing = [t for t in todo if any(i.dataset and i.dataset not in record
                                      for i in run.tasks[t].inputs)]
    if missing:
        more = stage_in(repo, [run.tasks[t] for t in missing], {name: place}).get(name, {})
        record = run.record.staged[name] = {**record, **more}
        run.save()
    return {ds: entry["path"] for ds, entry in record.items()}


def _tree(run: ActiveRun, repo: Repository, task: TaskPlan, shared: dict[str, str]) -> Tree:
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
