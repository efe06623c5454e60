"""What a run would submit, without submitting: each task's job script as its scheduler renders it."""

from __future__ import annotations

from pathlib import PurePosixPath

from runner.declarations.models import Infrastructure, Repository
from runner.plan.resolve import RunPlan
from runner.runs import images
from runner.runs.places import work_dir
from runner.schedulers.base import Job, Scheduler
from runner.schedulers.context import renderer


def task_scripts(repo: Repository, plan: RunPlan, only: set[str] | None = None) -> list[dict]:
    """Per task (or only those named): id, where, parameters, needs and the job script (no host
    is contacted and no credential is needed; an image's digest is .mso/images.json's, else
    DIGEST)."""
    run_id = plan.new_run_id()
    # infrastructure name -> (the infrastructure, its renderer, the run's work dir there)
    places: dict[str, tuple[Infrastructure, Scheduler, PurePosixPath]] = {}
    for name in sorted({t.infrastructure for t in plan.tasks}):
        infra = repo.infrastructure(name)
        places[name] = (infra, renderer(infra), work_dir(repo, infra, run_id, None))
    pinned = images.planned(repo, plan, {n: str(p[2].parent) for n, p in places.items()})
    out = []
    for t in plan.tasks:
        if only is not None and t.id not in only:
            continue
        infra, render, work = places[t.infrastructure]
        job = Job(t, f"mso.{run_id}.{t.id}", work / t.id,
                  pinned.get((t.infrastructure, t.application.split("@")[0])))
        out.append({"id": t.id, "infrastructure": infra.name, "parameters": dict(t.parameters),
                    "needs": list(t.needs), "script": render.render(job)})
    return out
