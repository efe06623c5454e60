"""A new run from a plan: the record and the plan are written first, then every task's work dir is
staged; nothing starts here (the watcher submits what is ready)."""

from __future__ import annotations

import json
from pathlib import Path

from runner.declarations.models import Repository, plain
from runner.fsutil import write_atomic
from runner.plan.resolve import RunPlan
from runner.runs import images, prepare
from runner.runs.active import ActiveRun
from runner.runs.places import place
from runner.schedulers.context import Context
from runner.state import RunRecord, TaskRecord

PLAN = "plan.json"   # in results/<exp>/<run-id>/: the fully resolved tasks, read back on resume


def create(ctx: Context, repo: Repository, plan: RunPlan, git: dict) -> ActiveRun:
    """Resolve and fetch the run's images, write the record and the plan, then stage what every
    task needs. An image the registry lacks, or a runtime a host lacks, stops it before anything
    is written."""
    resolved = images.resolve(repo, plan)
    run_id = plan.new_run_id()
    results = Path(repo.root) / "results" / plan.experiment / run_id
    infra = plan.infrastructure
    names = sorted({t.infrastructure for t in plan.tasks} | {infra.name})
    places = {n: place(ctx, repo, repo.infrastructure(n), run_id) for n in names}
    fetched = images.fetch(repo, plan, places, resolved)
    record = _record(plan, run_id, git)
    record.work_dir = str(places[infra.name].area.root)
    record.images = fetched
    run = ActiveRun(record, {t.id: t for t in plan.tasks}, results, places, plan.keep_workdir,
                    ctx.secrets, images=images.for_jobs(fetched, places))
    run.save()
    write_atomic(results / PLAN, json.dumps({
        "keep_workdir": plan.keep_workdir, "infrastructure": infra.name,
        "work_dirs": {n: str(p.area.root) for n, p in places.items()},
        "tasks": [plain(t) for t in plan.tasks]}, indent=1))
    prepare.prepare(run, repo)
    return run


def _record(plan: RunPlan, run_id: str, git: dict) -> RunRecord:
    app, infra = plan.application, plan.infrastructure
    return RunRecord(
        run_id=run_id, experiment=plan.experiment, spec_hash=plan.spec_hash,
        application={"name": app.name, "version": app.version,
                     "image": app.container.image if app.container else None},
        infrastructure={"name": infra.name, "kind": infra.kind, "host": infra.host},
        tasks=[TaskRecord(t.id, t.step, t.index, plain(t.parameters), list(t.needs),
                          stdout=f"{t.id}/stdout.txt", stderr=f"{t.id}/stderr.txt")
               for t in plan.tasks],
        git=git, datasets=dict(plan.datasets))
