"""`mso rerun`: a recorded run made again exactly as recorded, or refused with the reason.

Exactly means: the declarations and application files of the run's commit (a worktree, see
runner/runs/worktree.py), the same tasks with the same parameters, every dataset with the checksum
the run recorded, and every image by the digest it ran in. Each is checked before anything is
written; what cannot be had any more (a dataset whose data changed, an image the registry and the
host's cache no longer hold, a commit made with uncommitted changes) is refused, by name.
The new run is an ordinary run with `rerun_of` set; all of its tasks run (nothing is reused).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Callable

from runner import state
from runner.containers import images as built
from runner.containers.reference import parse
from runner.data import stagein
from runner.declarations.models import Repository, plain
from runner.errors import ContainerError, MsoError, StagingError
from runner.fsutil import inside, sha256_file
from runner.plan.resolve import RunPlan
from runner.results.records import RUN_ID
from runner.runs import create, images
from runner.runs.active import ActiveRun
from runner.schedulers.context import Context
from runner.state import RunRecord

Say = Callable[[str], None]


def find(results: Path, run_id: str) -> tuple[Path, RunRecord]:
    """The folder and record of a run by id, in any experiment."""
    if not RUN_ID.match(run_id):
        raise MsoError(f"{run_id!r} is not a run id (like 20250131T120000Z-0a1b2c3d-4e5f6a7b); "
                       "`mso status EXPERIMENT` lists an experiment's runs")
    found = sorted(results.glob(f"*/{run_id}/{state.RECORD}"))
    if not found:
        raise MsoError(f"no run {run_id} in {results} (`mso status` lists the runs)")
    return found[0].parent, state.load(found[0])


def refusal(record: RunRecord) -> str | None:
    """Why the run cannot be made again exactly, from its record alone (None: it can be tried)."""
    commit = (record.git or {}).get("commit")
    if not record.state.terminal:
        return f"it is still {record.state.value}; let it finish (`mso run`) or cancel it"
    if not commit:
        return "its record names no git commit (it was not run in a git repository)"
    if (record.git or {}).get("dirty"):
        return (f"it ran with uncommitted changes on top of commit {commit[:12]}, so no commit "
                "holds what ran")
    return None


def pin_images(root: Path, current: Path, repo: Repository, record: RunRecord) -> None:
    """Record, in the worktree's .mso/images.json, the digests the run ran in, so the run is
    planned with those images (not with what the registry's tag names now)."""
    mine = built.read(current)
    found = {}
    for entry in record.images:
        app = repo.applications.get(entry["application"])
        if app is None or app.container is None:
            continue
        had = mine.get(app.name)
        found[app.name] = built.Image(
            reference=entry["reference"], tag=parse(entry["reference"]).tag, digest=entry["digest"],
            builder=had.builder if had and had.digest == entry["digest"] else None,
            source="image" if app.container.image else "build")
    if found:
        built.record(root, found, set(found))


def check(repo: Repository, plan: RunPlan, record: RunRecord, say: Say) -> None:
    """Refuse (MsoError naming what) unless the plan at the commit repeats the recorded run."""
    where = f"at commit {record.git['commit'][:12]}"
    recorded = [(t.id, t.parameters) for t in record.tasks]
    if [(t.id, plain(t.parameters)) for t in plan.tasks] != recorded:
        raise MsoError(f"{where} the experiment plans other tasks than the run recorded (this mso "
                       f"plans differently from the one that made {record.run_id})")
    for name, sha in sorted(record.datasets.items()):
        now = plan.datasets.get(name)
        if now != sha or name not in repo.datasets:
            raise MsoError(f"dataset {name}: the run used sha256 {sha}, {where} it is {now}")
        _check_data(repo, repo.datasets[name], sha, say)
    _check_images(repo, plan, record, where)


def restore_data(root: Path, current: Path, record: RunRecord) -> None:
    """Put into the worktree each dataset file the commit lacks (git ignores it) from the
    current repository, when its checksum there is the one the run recorded."""
    from runner.declarations.repository import load
    datasets = load(root).repo.datasets   # the checks come after, with the data in place
    for name, sha in record.datasets.items():
        ds = datasets.get(name)
        if ds is None or not sha or not ds.in_repository:
            continue
        path, here = root / ds.location, current / ds.location
        if not inside(path, root) or path.exists():
            continue
        had = sha256_file(here) if here.is_file() else None
        if had != sha:
            raise MsoError(f"dataset {name}: {ds.location} is not in the run's commit, and "
                           + (f"this repository's file has sha256 {had}, not the recorded {sha}"
                              if had else "this repository has no such file"))
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(here, path)


def _check_data(repo: Repository, ds, sha: str | None, say: Say) -> None:
    """The dataset's data is still what the run read."""
    if sha is None:
        say(f"dataset {ds.name} has no checksum: the rerun reads it as it is now")
        return
    if not ds.in_repository:
        (Path(repo.root) / ".mso").mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(dir=Path(repo.root) / ".mso") as tmp:
            try:
                stagein.into_cache(ds, Path(repo.root), Path(tmp))
            except StagingError as exc:
                raise MsoError(f"dataset {ds.name} can no longer be had with sha256 {sha}: "
                               f"{exc}") from None
        return
    path = Path(repo.root) / ds.location
    if not path.exists():
        raise MsoError(f"dataset {ds.name}: {ds.location} is not in the run's commit, and this "
                       f"repository has no file with sha256 {sha} there")
    if path.is_file() and sha256_file(path) != sha:
        raise MsoError(f"dataset {ds.name}: {ds.location} in the run's commit has sha256 "
                       f"{sha256_file(path)}, the run used {sha}")


def _check_images(repo: Repository, plan: RunPlan, record: RunRecord, where: str) -> None:
    ran = {e["application"]: e["digest"] for e in record.images}
    try:
        resolved = images.resolve(repo, plan)
    except ContainerError as exc:
        raise MsoError(f"{where} the run's images cannot be resolved: {exc}") from None
    for app, r in sorted(resolved.items()):
        if ran.get(app) != r.reference.digest:
            raise MsoError(f"image of {app}: the run ran in {ran.get(app) or 'no image'}, "
                           f"{where} it would be {r.reference.pinned}")


def start(ctx: Context, repo: Repository, plan: RunPlan, record: RunRecord) -> ActiveRun:
    """Create the new run (every task runs), marked as a rerun of `record`."""
    git = {"commit": record.git["commit"], "dirty": False, "branch": None}
    try:
        run = create.create(ctx, repo, plan, git)
    except ContainerError as exc:
        raise MsoError(f"an image of {record.run_id} can no longer be had: {exc}") from None
    run.record.rerun_of = record.run_id
    run.save()
    return run
