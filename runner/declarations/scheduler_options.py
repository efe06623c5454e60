"""The scheduler options mso sets itself, by kind, and the one rule that refuses them and names
the scheduler does not document (resources.slurm, resources.pbs); every other option passes. The
validator uses it before anything is submitted (`check_experiment`), the backends again when they
render (`check`)."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from runner.errors import SchedulerError, SpecError
from runner.declarations.models import Experiment, Repository
from runner.declarations import documented_options
from runner.declarations.schema import did_you_mean
from runner.declarations.yamlload import Document

_SETS = "mso sets this"
# sbatch options mso sets itself (or that would keep sbatch from submitting), with where to
# declare them instead; every other documented sbatch option passes through.
SLURM_OWN = {
    "partition": "`partition` of the infrastructure", "account": "`account` of the infrastructure",
    "time": "resources.walltime", "mem": "resources.memory", "nodes": "resources.nodes",
    "ntasks": "resources.tasks", "cpus-per-task": "resources.cpus_per_task",
    "gres": "resources.gpus", "gpus": "resources.gpus", "array": "the experiment's matrix",
    "job-name": "mso sets this (it names jobs)", "output": "mso sets this (it places logs)",
    "error": "mso sets this (it places logs)", "chdir": "mso sets this (the wrapper changes directory)",
    "export": "environment", "export-file": "environment", "dependency": "the steps' order",
    "kill-on-invalid-dep": _SETS, "parsable": _SETS, "wait": _SETS, "wrap": _SETS,
    "hold": "mso sets this (a held job would wait for ever)",
    **{name: "mso sets this (sbatch would not submit)" for name in ("help", "usage", "version", "test-only")},
    **{name: "mso sets this (only root may)" for name in ("uid", "gid")}}
SLURM = documented_options.SBATCH - set(SLURM_OWN)

# PBS Professional qsub(1B) options mso sets itself, likewise.
PBS_OWN = {"queue": "`queue` of the infrastructure", "account": "`account` of the infrastructure",
           "walltime": "resources.walltime", "mem": "resources.memory", "select": "resources.nodes/tasks",
           "ncpus": "resources.cpus_per_task", "ngpus": "resources.gpus", "nodes": "resources.nodes",
           "gpus": "resources.gpus", "array": "the experiment's matrix", "job-name": "mso sets this (it names jobs)",
           "output": "mso sets this (it places logs)", "error": "mso sets this (it places logs)",
           "export": "environment", "export-all": "environment", "depend": "the steps' order",
           "max-run-subjobs": "limits.max_parallel", "workdir": "mso sets this (the wrapper changes directory)",
           "working-dir": "mso sets this (the wrapper changes directory)", "arguments": _SETS,
           "no-job-id": _SETS, "foreground": _SETS, "block": _SETS, "interactive": _SETS, "x11": _SETS,
           "interactive-script": _SETS,
           "hold": "mso sets this (a held job would wait for ever)",
           "proxy-user": "mso sets this (only root may)", "job-script": _SETS, "procs": "resources.tasks"}
# resources.pbs options -> the directive each becomes (PBS Professional qsub(1B)).
PBS = {k: v for k, v in documented_options.QSUB_PBS.items() if k not in PBS_OWN}
# resources.pbs options that belong in the select chunk (`-l select=...:name=value`).
PBS_CHUNK = documented_options.QSUB_PBS_CHUNK - set(PBS_OWN)
# resources.pbs options on a Torque site -> the directive each becomes (Torque qsub(1)).
TORQUE = {k: v for k, v in documented_options.QSUB_TORQUE.items() if k not in PBS_OWN}


def check(kind: str, options: Mapping[str, Any], what: str) -> None:
    """Refuse, by name and with a hint, the first (sorted) option the scheduler would refuse."""
    for key, hint in sorted(refused(kind, options))[:1]:
        raise SchedulerError(f"{what} {key!r} is not allowed; {hint}")


def refused(kind: str, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(option, hint) for each option mso sets itself or the kind's scheduler does not know."""
    allowed, own = {"slurm": (SLURM, SLURM_OWN), "pbs": ({*PBS, *PBS_CHUNK}, PBS_OWN),
                    "torque": (set(TORQUE), PBS_OWN)}.get(kind, (None, {}))
    if allowed is None:
        return []
    out = []
    for key in options:
        name = key.replace("_", "-")
        if name in own:
            hint = own[name]
            out.append((key, hint if hint.startswith("mso sets") else f"declare it as {hint}"))
        elif name not in allowed:
            close = did_you_mean(name, sorted(allowed), "")
            out.append((key, (close if close.startswith("did") else "")
                        or f"not a documented {_TOOL[kind]} option"))
    return out


_TOOL = {"slurm": "sbatch", "pbs": "qsub (PBS Professional)", "torque": "qsub (Torque)"}
_SECTION = {"slurm": "slurm", "pbs": "pbs", "torque": "pbs"}


def check_experiment(exp: Experiment, repo: Repository, doc: Document) -> Iterator[SpecError]:
    """Options the experiment or its steps write that their scheduler would refuse."""
    seen: set[tuple] = set()
    for i, step, place in ((i, s, p) for i, s in enumerate(exp.steps) for p in s.places):
        infra = repo.infrastructures.get(place)
        section = _SECTION.get(infra.kind) if infra else None
        if section is None:
            continue
        for keys, options in ((("steps", i, "resources", section), getattr(step.resources, section)),
                              (("resources", section), getattr(exp.resources, section))):
            for key, hint in refused(infra.kind, options):
                if (keys, key) in seen:
                    continue
                seen.add((keys, key))
                yield SpecError(doc.where(keys + (key,), on_key=True),
                                f"{infra.kind} does not take the option '{key}' "
                                f"(infrastructure {infra.name})", hint)
