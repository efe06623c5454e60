"""What a run would submit, without submitting: each task's job script as its scheduler renders it."""

from __future__ import annotations

from pathlib import PurePosixPath

from runner.declarations.models import Infrastructure, Repository
from runner.plan.resolve import RunPlan
from runner.runs.places import work_dir
from runner.schedulers.base import Job, Scheduler
from runner.schedulers.context import renderer


def task_scripts(repo: Repository, plan: RunPlan) -> list[dict]:
    """Per task: id, where, parameters, needs and the job script (no host is contacted and no
    credential is needed)."""
    run_id = plan.new_run_id()
    # infrastructure name -> (the infrastructure, its renderer, the run's work dir there)
    places: dict[str, tuple[Infrastructure, Scheduler, PurePosixPath]] = {}
    out = []
    for t in plan.tasks:
        if t.infrastructure not in places:
            infra = repo.infrastructure(t.infrastructure)
            places[t.infrastructure] = (infra, renderer(infra), work_dir(repo, infra, run_id, None))
        infra, render, work = places[t.infrastructure]
        job = Job(t, f"mso.{run_id}.{t.id}", work / t.id)
        out.append({"id": t.id, "infrastructure": infra.name, "parameters": dict(t.parameters),
                    "needs": list(t.needs), "script": render.render(job)})
    return out
