"""A task's identity: the SHA-256 of what determines its result, so that a later run reuses a
point that already succeeded and runs only new, changed and failed ones.

It covers the application (version, command, outputs, environment, container recipe or image
reference, and its files), the task's resolved parameters and command line, its inputs (each
dataset's checksum; for an input from an earlier step, that task's identity), and the
infrastructure's settings that can change a result (kind, host, modules, container runtime,
volumes, GPU vendor, environment; for a step with candidate infrastructures, those of every
candidate, so that a point is the same wherever placement sends it and is reused from any). It leaves out what only says how or where to wait: resources
(walltime, memory, partition, scheduler options), credentials, the work root, polling, and a
task's index or id (a value added to an axis renumbers the points, not their identity). The image
digest is checked when a run starts (runner/runs/create.py): a reused point ran in the same one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from runner.declarations.construct import split_ref
from runner.declarations.models import plain
from runner.plan.spec import FORMAT, sha256_json

_APPLICATION = ("version", "command", "outputs", "environment", "container", "files", "image")
_INFRASTRUCTURE = ("kind", "host", "modules", "container_runtime", "volumes", "gpu_vendor",
                   "environment")


def assign(tasks: list, snapshot: Mapping[str, Any]) -> tuple:
    """The tasks (TaskPlan) with their identities, from the run's spec snapshot."""
    apps = {n: sha256_json(_part(a, _APPLICATION)) for n, a in snapshot["applications"].items()}
    infras = {n: sha256_json(_part(i, _INFRASTRUCTURE))
              for n, i in snapshot["infrastructures"].items()}
    datasets = snapshot["datasets"]
    by_id = {t.id: t for t in tasks}
    found: dict[str, str] = {}

    def of(task) -> str:
        if task.id not in found:
            inputs = [[i.name, i.target, datasets.get(i.dataset) if i.dataset else
                       [of(by_id[i.step_task]), i.step_path]] for i in task.inputs]
            found[task.id] = sha256_json({
                "format": FORMAT, "application": apps[split_ref(task.application)[0]],
                "infrastructure": (sha256_json([infras[c] for c in task.candidates])
                                   if task.candidates else infras[task.infrastructure]),
                "parameters": plain(task.parameters), "argv": list(task.argv), "inputs": inputs})
        return found[task.id]

    return tuple(replace(t, identity=of(t)) for t in tasks)


def _part(entry: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: entry.get(k) for k in keys}
