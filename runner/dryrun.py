"""What a run would submit, without submitting: each task's job script as its scheduler renders it."""

from __future__ import annotations

from pathlib import PurePosixPath

from runner import runs
from runner.plan import RunPlan
from runner.schedulers.base import Job, renderer
from runner.spec.models import Repository


def task_scripts(repo: Repository, plan: RunPlan) -> list[dict]:
    """Per task: id, where, parameters, needs and the job script (no host is contacted and no
    credential is needed)."""
    run_id = plan.new_run_id()
    out = []
    for t in plan.tasks:
        infra = repo.infrastructure(t.infrastructure)
        job = Job(t, f"mso.{run_id}.{t.id}", PurePosixPath(runs.work_dir(repo, infra, run_id, None) / t.id))
        out.append({"id": t.id, "infrastructure": infra.name, "parameters": dict(t.parameters),
                    "needs": list(t.needs), "script": renderer(infra).render(job)})
    return out
