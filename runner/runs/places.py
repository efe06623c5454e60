"""Where a run's tasks execute: its work dir on each infrastructure, with the scheduler there."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from runner.declarations.models import Infrastructure, Repository
from runner.runs.active import Place
from runner.schedulers.context import Context
from runner.staging import area
from runner.transports.base import Transport


def work_dir(repo: Repository, infra: Infrastructure, run_id: str,
             transport: Transport | None) -> PurePosixPath:
    """The run's work dir on the infrastructure; relative roots are under the repository
    (local) or the user's home (remote; `~/...` when no transport is given to ask)."""
    root = infra.work_root
    if infra.kind == "local":
        base = Path(root).expanduser()
        return PurePosixPath(base if base.is_absolute() else Path(repo.root) / base) / run_id
    if not root.startswith("/") and transport is None:
        return PurePosixPath("~") / root.removeprefix("~/") / run_id
    if not root.startswith("/"):
        home = transport.run("cd && pwd").check("finding the home folder").stdout.strip()
        root = f"{home}/{root.removeprefix('~/').removeprefix('~')}"
    return PurePosixPath(root) / run_id


def place(ctx: Context, repo: Repository, infra: Infrastructure, run_id: str,
          work: PurePosixPath | None = None) -> Place:
    """A run's place on one infrastructure (its work dir found, or given when resuming)."""
    scheduler = ctx.scheduler(infra)
    if work is None:
        work = work_dir(repo, infra, run_id, scheduler.transport)
    if infra.kind == "local":
        return Place(infra, scheduler, area.for_run(Path(work), work, None))
    stage = Path(repo.root) / ".mso" / "stage" / run_id / infra.name
    return Place(infra, scheduler, area.for_run(stage, work, scheduler.transport))
