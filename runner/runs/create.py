"""A new run from a plan: its images and datasets are made ready on each host first, then the
record and the plan are written, then every task's work dir is staged; nothing starts here (the
watcher submits what is ready)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from runner import gitinfo
from runner.declarations.models import Repository, plain
from runner.fsutil import write_atomic
from runner.plan.resolve import RunPlan
from runner.plan.reuse import Source
from runner.runs import cloudhosts, images, prepare, reused
from runner.runs.active import ActiveRun
from runner.runs.places import place
from runner.schedulers.accounting import requested
from runner.schedulers.context import Context
from runner.state import PLAN, SPEC, RunRecord, TaskRecord


def create(ctx: Context, repo: Repository, plan: RunPlan, git: dict,
           reuse: Mapping[str, Source] | None = None,
           placement: list[dict] | None = None) -> ActiveRun:
    """Resolve and fetch the run's images, stage its datasets into each host's cache, write the
    record and the plan, then stage what every task needs. An image the registry lacks, a
    runtime a host lacks, or data that does not arrive verified stops it before anything is
    written. `reuse` (task id -> an earlier success with its identity) is taken over, not run,
    where the earlier task ran in the image digest this run resolves; no host is contacted for
    an infrastructure whose tasks are all reused. `placement`: where runner/placement/ sent
    steps with candidate infrastructures, and why, for the record."""
    resolved = images.resolve(repo, plan)
    reuse, _ = images.same_digests(plan, reuse or {}, resolved)
    run_id = plan.new_run_id()
    results = Path(repo.root) / "results" / plan.experiment / run_id
    # cloud servers first: from here on each is a host of its own (runner/runs/cloudhosts.py)
    repo, plan, made = cloudhosts.provision(repo, plan, run_id, set(reuse))
    try:
        places, fetched, staged = _places(ctx, repo, plan, run_id, reuse, resolved)
    except BaseException:
        cloudhosts.release(repo, run_id, made)
        raise
    infra = plan.infrastructure
    record = _record(plan, run_id, git, gitinfo.triggered_by(Path(repo.root)))
    record.staged, record.servers = staged, made
    record.work_dir = str(places[infra.name].area.root) if infra.name in places else ""
    record.images, record.placement = fetched, list(placement or [])
    reused.take_over(record, reuse, results)
    run = ActiveRun(record, {t.id: t for t in plan.tasks}, results, places, plan.keep_workdir,
                    ctx.secrets, images=images.for_jobs(fetched, places), repo=repo,
                    unsure=set())
    run.save()
    write_atomic(results / PLAN, json.dumps({
        "keep_workdir": plan.keep_workdir, "infrastructure": infra.name,
        "work_dirs": {n: str(p.area.root) for n, p in places.items()},
        "tasks": [plain(t) for t in plan.tasks]}, indent=1))
    write_atomic(results / SPEC, json.dumps(plan.spec, indent=1, sort_keys=True))
    prepare.prepare(run, repo)
    return run


def _places(ctx: Context, repo: Repository, plan: RunPlan, run_id: str,
            reuse: Mapping[str, Source], resolved: dict) -> tuple[dict, list[dict], dict]:
    """The run's places (its work dir on each host), its images fetched there, and its
    datasets staged into each host's cache, verified: a failure leaves nothing of the run
    written."""
    names = sorted({t.infrastructure for t in plan.tasks if t.id not in reuse})
    places = {n: place(ctx, repo, repo.infrastructure(n), run_id) for n in names}
    fetched = images.fetch(repo, plan, places, resolved)
    staged = prepare.stage_in(repo, [t for t in plan.tasks if t.id not in reuse], places)
    return places, fetched, staged


def _record(plan: RunPlan, run_id: str, git: dict, triggered_by: str | None = None) -> RunRecord:
    app, infra = plan.application, plan.infrastructure
    return RunRecord(
        run_id=run_id, experiment=plan.experiment, spec_hash=plan.spec_hash,
        application={"name": app.name, "version": app.version,
                     "image": app.container.image if app.container else None},
        infrastructure={"name": infra.name, "kind": infra.kind, "host": infra.host},
        tasks=[TaskRecord(t.id, t.step, t.index, plain(t.parameters), list(t.needs),
                          stdout=f"{t.id}/stdout.txt", stderr=f"{t.id}/stderr.txt",
                          identity=t.identity or None, requested=requested(t.resources))
               for t in plan.tasks],
        git=git, datasets=dict(plan.datasets), triggered_by=triggered_by)
