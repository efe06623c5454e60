"""A batch's submission as slurmrestd takes it (POST /slurm/v0.0.38/job/submit): the script's text
and a job description. slurmrestd does not read `#SBATCH` lines (they stay in the script,
ignored), so every option mso renders for sbatch is translated here into the description's field
(openapi/v0.0.38's `job_properties`); an option without one is refused by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from runner.errors import SchedulerError
from runner.schedulers import arrays

# what a job's environment holds: slurmrestd passes no login environment (sbatch passes the
# submitting shell's); the batch script reads its chunk's offset from MSO_ARRAY_OFFSET
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def minutes(text: str) -> int:
    """sbatch's --time forms (`M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`) in whole minutes,
    rounded up, as time_limit takes them."""
    m = _TIME.match(text.strip())
    if not m:
        raise SchedulerError(f"time {text!r}: expected sbatch's [D-]HH:MM:SS or minutes")
    days, a, b, c = (int(g) if g else None for g in m.groups())
    if days is not None:                # D-H[:M[:S]]
        seconds = ((days * 24 + a) * 60 + (b or 0)) * 60 + (c or 0)
    elif c is not None:                 # H:M:S
        seconds = (a * 60 + b) * 60 + c
    else:                               # M or M:S
        seconds = a * 60 + (b or 0)
    return -(-seconds // 60)


def _nodes(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return [int(lo)] + ([int(hi)] if hi else [])


def _flag(value: bool) -> Callable[[str], bool]:
    return lambda _text: value


_STR = {o: o.replace("-", "_") for o in ("account", "partition", "qos", "reservation", "comment",
                                          "licenses", "gres", "gres-flags", "mail-type", "mail-user",
                                          "distribution", "gpus", "gpus-per-node", "gpus-per-task",
                                          "gpus-per-socket", "wckey", "signal", "deadline", "prefer",
                                          "priority", "open-mode", "cpus-per-gpu", "container",
                                          "cluster-constraint", "mcs-label", "batch-features")}
_STR.update({"constraint": "constraints", "output": "standard_output", "error": "standard_error",
             "input": "standard_input", "cpu-freq": "cpu_frequency", "mem-bind": "memory_binding",
             "gpu-bind": "gpu_binding", "gpu-freq": "gpu_frequency", "hint": "cpu_binding_hint",
             "acctg-freq": "account_gather_frequency", "bb": "burst_buffer"})
_INT = {"ntasks": "tasks", "cpus-per-task": "cpus_per_task", "ntasks-per-node": "tasks_per_node",
        "ntasks-per-core": "tasks_per_core", "ntasks-per-socket": "tasks_per_socket",
        "sockets-per-node": "sockets_per_node", "cores-per-socket": "cores_per_socket",
        "threads-per-core": "threads_per_core", "nice": "nice", "core-spec": "core_specification",
        "thread-spec": "thread_specification", "mincpus": "minimum_cpus_per_node"}
# option -> (field, value from the option's text)
FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    **{o: (f, str) for o, f in _STR.items()},
    **{o: (f, int) for o, f in _INT.items()},
    "mem": ("memory_per_node", arrays.memory_mb), "mem-per-cpu": ("memory_per_cpu", arrays.memory_mb),
    "mem-per-gpu": ("memory_per_gpu", arrays.memory_mb),
    "time": ("time_limit", minutes), "time-min": ("time_minimum", minutes), "nodes": ("nodes", _nodes),
    "exclusive": ("exclusive", lambda t: t or "true"),
    "requeue": ("requeue", _flag(True)), "no-requeue": ("requeue", _flag(False)),
    "hold": ("hold", _flag(True)), "no-kill": ("no_kill", _flag(True)),
    "oversubscribe": ("oversubscribe", _flag(True)), "spread-job": ("spread_job", _flag(True)),
    "use-min-nodes": ("minimum_nodes", _flag(True)), "wait-all-nodes": ("wait_all_nodes", lambda t: t == "1"),
}


def properties(options: list[str]) -> dict[str, Any]:
    """`--name[=value]` options (as mso renders them for sbatch) -> job description fields."""
    out: dict[str, Any] = {}
    for option in options:
        name, _, value = option.removeprefix("--").partition("=")
        if name not in FIELDS:
            raise SchedulerError(f"sbatch option --{name} has no field in slurmrestd's job description "
                                 f"(openapi/v0.0.38): remove it from resources.slurm, or remove the "
                                 f"infrastructure's `api` to submit with sbatch over SSH")
        field, convert = FIELDS[name]
        try:
            out[field] = convert(value)
        except ValueError:
            raise SchedulerError(f"sbatch option --{name}: value {value!r} is not what "
                                 f"slurmrestd's {field} takes") from None
    return out


def body(script: str, fields: dict[str, Any], cwd: str, name: str, chunk: arrays.Chunk,
         throttle: int | None, dependency: str) -> dict[str, Any]:
    """The request that submits one array of the batch (its offset in MSO_ARRAY_OFFSET)."""
    job = {**fields, "name": name, "current_working_directory": cwd,
           "array": arrays.compress(chunk.relative) + (f"%{throttle}" if throttle else ""),
           "environment": {"PATH": PATH, "MSO_ARRAY_OFFSET": str(chunk.offset)}}
    if dependency:
        job.update(dependency=dependency, kill_on_invalid_dependency=True)
    return {"script": script, "job": job}
