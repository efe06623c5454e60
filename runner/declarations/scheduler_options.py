"""The scheduler options a declaration may pass through (resources.slurm, resources.pbs), by
kind, and the one rule that refuses the others: the validator uses it before anything is
submitted (`check_experiment`), the backends again when they render (`check`)."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from runner.errors import SchedulerError, SpecError
from runner.declarations.models import Experiment, Repository
from runner.declarations.schema import did_you_mean
from runner.declarations.yamlload import Document

# sbatch options a declaration may pass through resources.slurm (long names, without `--`).
SLURM = frozenset({
    "qos", "constraint", "cluster-constraint", "exclusive", "reservation", "mail-type", "mail-user",
    "hint", "nodelist", "exclude", "gpus-per-node", "gpus-per-task", "gpus-per-socket", "gpu-bind",
    "cpus-per-gpu", "mem-per-cpu", "mem-per-gpu", "ntasks-per-node", "ntasks-per-core",
    "ntasks-per-socket", "ntasks-per-gpu", "sockets-per-node", "cores-per-socket", "threads-per-core",
    "distribution", "licenses", "comment", "requeue", "no-requeue", "begin", "deadline", "nice",
    "signal", "switches", "tmp", "wckey", "time-min", "contiguous", "core-spec", "thread-spec",
    "overcommit", "oversubscribe", "spread-job", "use-min-nodes", "mincpus", "network", "power",
    "prefer", "priority", "profile", "acctg-freq", "gres-flags", "mcs-label", "kill-on-invalid-dep",
})
# Options mso sets itself, with where to declare them instead.
SLURM_OWN = {
    "partition": "`partition` of the infrastructure", "account": "`account` of the infrastructure",
    "time": "resources.walltime", "mem": "resources.memory", "nodes": "resources.nodes",
    "ntasks": "resources.tasks", "cpus-per-task": "resources.cpus_per_task",
    "gres": "resources.gpus", "gpus": "resources.gpus", "array": "the experiment's matrix",
    "job-name": "nothing (mso names jobs)", "output": "nothing (mso places logs)",
    "error": "nothing (mso places logs)", "chdir": "nothing (the wrapper changes directory)"}

# resources.pbs options -> the directive each becomes (PBS Professional qsub(1B)).
PBS = {"place": "-l place={}", "project": "-P {}", "mail-points": "-m {}", "mail-users": "-M {}",
           "priority": "-p {}", "rerunnable": "-r {}", "software": "-l software={}",
           "cput": "-l cput={}", "umask": "-W umask={}", "group-list": "-W group_list={}",
           "sandbox": "-W sandbox={}"}
# resources.pbs options that belong in the select chunk (`-l select=...:name=value`).
PBS_CHUNK = frozenset({"mpiprocs", "ompthreads", "host", "vntype", "arch", "accelerator-model"})
PBS_OWN = {"queue": "`queue` of the infrastructure", "account": "`account` of the infrastructure",
        "walltime": "resources.walltime", "mem": "resources.memory", "select": "resources.nodes/tasks",
        "ncpus": "resources.cpus_per_task", "ngpus": "resources.gpus", "nodes": "resources.nodes"}

# resources.pbs options on a Torque site -> the directive each becomes (Torque qsub(1)).
TORQUE = {"pmem": "-l pmem={}", "pvmem": "-l pvmem={}", "vmem": "-l vmem={}", "qos": "-l qos={}",
           "feature": "-l feature={}", "gres": "-l gres={}", "naccesspolicy": "-l naccesspolicy={}",
           "mail-points": "-m {}", "mail-users": "-M {}", "priority": "-p {}", "rerunnable": "-r {}",
           "umask": "-W umask={}", "group-list": "-W group_list={}"}


def check(kind: str, options: Mapping[str, Any], what: str) -> None:
    """Refuse, by name and with a hint, the first (sorted) option the scheduler would refuse."""
    for key, hint, allowed in sorted(refused(kind, options))[:1]:
        raise SchedulerError(f"{what} {key!r} is not allowed" + (f"; {hint}" if hint else "") +
                             f" (allowed: {', '.join(allowed)})")


def refused(kind: str, options: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(option, hint, allowed names) for each option the kind's scheduler would refuse."""
    allowed, own = {"slurm": (SLURM, SLURM_OWN), "pbs": ({*PBS, *PBS_CHUNK}, PBS_OWN),
                    "torque": (set(TORQUE), PBS_OWN)}.get(kind, (None, {}))
    if allowed is None:
        return []
    out = []
    for key in options:
        name = key.replace("_", "-") if kind == "slurm" else key
        if name not in allowed:
            hint = f"declare it as {own[name]}" if name in own else ""
            out.append((key, hint, sorted(allowed)))
    return out


_SECTION = {"slurm": "slurm", "pbs": "pbs", "torque": "pbs"}


def check_experiment(exp: Experiment, repo: Repository, doc: Document) -> Iterator[SpecError]:
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
