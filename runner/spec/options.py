"""Scheduler options passed through `resources.slurm` / `resources.pbs`, checked against what the
step's infrastructure's scheduler accepts, before anything is submitted."""

from __future__ import annotations

from typing import Iterator

from runner.errors import SpecError
from runner.schedulers.options import refused
from runner.spec.models import Experiment, Repository
from runner.spec.schema import did_you_mean
from runner.spec.yamlload import Document

_SECTION = {"slurm": "slurm", "pbs": "pbs", "torque": "pbs"}


def check(exp: Experiment, repo: Repository, doc: Document) -> Iterator[SpecError]:
    """Options the experiment or its steps write that their scheduler would refuse."""
    seen: set[tuple] = set()
    for i, step in enumerate(exp.steps):
        infra = repo.infrastructures.get(step.infrastructure)
        section = _SECTION.get(infra.kind) if infra else None
        if section is None:
            continue
        for keys, options in ((("steps", i, "resources", section), getattr(step.resources, section)),
                              (("resources", section), getattr(exp.resources, section))):
            for key, hint, allowed in refused(infra.kind, options):
                if (keys, key) in seen:
                    continue
                seen.add((keys, key))
                hint = hint or did_you_mean(key.replace("_", "-"), allowed, "allowed")
                yield SpecError(doc.where(keys + (key,), on_key=True),
                                f"{infra.kind} does not take the option '{key}' "
                                f"(infrastructure {infra.name})", hint)
