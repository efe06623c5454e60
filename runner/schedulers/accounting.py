"""What a job used, as its scheduler's accounting tells it: pure parsers of sacct's columns and
of `qstat -f`'s attributes into TaskRecord.usage's keys (elapsed_s, cpu_s, queue_wait_s,
energy_j, source). A figure the accounting leaves empty, `Unknown` or zero-for-no-plugin is left
out, never guessed.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from runner.declarations.models import Resources
from runner.schedulers.arrays import memory_mb
from runner.schedulers.base import JobStatus
from runner.schedulers.script import walltime_seconds
from runner.schedulers.states import OUT_OF_MEMORY

# the columns slurm_query.SACCT_FIELDS appends after JobID,JobName,State,ExitCode,Elapsed,MaxRSS
MAX_RSS = 5
SUBMIT, START, END, ELAPSED_RAW, TOTAL_CPU, ENERGY, REQ_MEM = range(6, 13)
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGTP]?)[nc]?$")
_DURATION = re.compile(r"^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
_KWH = 3.6e6   # joules in a kilowatt-hour (PBS Professional's unit of resources_used.energy)


def duration_s(text: str | None) -> float | None:
    """`[D-][HH:]MM:SS[.mmm]` (sacct's TotalCPU and Elapsed, qstat's cput and walltime) ->
    seconds; None for anything else."""
    m = _DURATION.match((text or "").strip())
    if not m:
        return None
    days, hours, minutes, seconds = m.groups()
    total = ((int(days or 0) * 24 + int(hours or 0)) * 60 + int(minutes)) * 60 + float(seconds)
    return round(total, 3)


def _when(text: str | None) -> datetime | None:
    """sacct's `2026-12-01T01:14:09` or qstat's `Wed Nov 25 15:00:05 2026` (both the cluster's
    local time: only differences of two are used)."""
    text = " ".join((text or "").split())
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%a %b %d %H:%M:%S %Y"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _wait(submitted: str | None, started: str | None) -> int | None:
    a, b = _when(submitted), _when(started)
    return max(0, int((b - a).total_seconds())) if a and b else None


def _figures(source: str, **values: float | int | None) -> dict | None:
    out = {k: v for k, v in values.items() if v is not None}
    return {**out, "source": source} if out else None


def sacct_usage(fields: Sequence[str]) -> dict | None:
    """One `sacct -X -P` line's usage (split on `|`); None from a line without those columns."""
    if len(fields) <= ENERGY:
        return None
    raw, energy = fields[ELAPSED_RAW].strip(), fields[ENERGY].strip()
    return _figures("sacct", elapsed_s=int(raw) if raw.isdigit() else None,
                    cpu_s=duration_s(fields[TOTAL_CPU]),
                    queue_wait_s=_wait(fields[SUBMIT], fields[START]),
                    # 0 is what sacct says without an energy plugin
                    energy_j=int(energy) if energy.isdigit() and int(energy) else None)


def size_kb(text: str | None) -> float | None:
    """sacct's MaxRSS or ReqMem (`420608K`, `100M`, `2G`; before Slurm 21.08 with `n` or `c`
    appended: per node or per CPU) in KiB; None when empty or unreadable."""
    m = _SIZE.match((text or "").strip())
    if not m:
        return None
    return float(m.group(1)) * 1024 ** "KMGTP".index(m.group(2) or "K")


def sigkilled(alloc: Sequence[str]) -> bool:
    """Whether an allocation's ExitCode (sacct's fourth column) is `0:9`: killed by SIGKILL."""
    return len(alloc) > 3 and alloc[3].strip() == "0:9"


def over_memory(alloc: Sequence[str], steps: Sequence[Sequence[str]]) -> bool:
    """Whether an allocation that was SIGKILLed (ExitCode `0:9`) had a step whose sampled peak
    reached its requested memory: Slurm's OverMemoryKill, which sites without cgroups use, ends
    such a job FAILED, not OUT_OF_MEMORY."""
    if len(alloc) <= REQ_MEM or not sigkilled(alloc):
        return False
    limit = size_kb(alloc[REQ_MEM])
    peaks = [size_kb(s[MAX_RSS]) for s in steps if len(s) > MAX_RSS]
    return bool(limit) and any(p is not None and p >= limit for p in peaks)


def qstat_usage(attrs: Mapping[str, str]) -> dict | None:
    """A finished job's usage from `qstat -f` attributes: resources_used.cput and .walltime,
    energy (PBS Professional's kWh, Torque's energy_used in joules, when not 0), queue wait from
    qtime to stime (PBS Professional) or start_time (Torque)."""
    kwh = _number(attrs.get("resources_used.energy"))
    joules = _number(attrs.get("resources_used.energy_used"))
    energy = joules if joules else kwh * _KWH if kwh else None
    walltime = duration_s(attrs.get("resources_used.walltime"))
    return _figures("qstat", elapsed_s=int(walltime) if walltime is not None else None,
                    cpu_s=duration_s(attrs.get("resources_used.cput")),
                    queue_wait_s=_wait(attrs.get("qtime"), attrs.get("stime") or attrs.get("start_time")),
                    energy_j=round(energy) if energy else None)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


class Lagging:
    """Joins a scheduler's live answer with its accounting's. The accounting (slurmdbd) lags
    the controller: a job the controller says ended may still run in the accounting's view.
    Its status is then the controller's, marked provisional, for up to `limit` seconds, so that
    the poll that sees it end in the accounting too records how it ended and what it used."""

    def __init__(self, limit: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self.since: dict[str, float] = {}   # job id: when the controller said it ended

    def joined(self, job_id: str, seen: JobStatus, acct: Mapping[str, JobStatus] | None) -> JobStatus:
        """`seen` with the accounting's usage once both say the job ended (no accounting, or
        `limit` passed while it does not tell the end: `seen` as it is)."""
        if not seen.ended or acct is None:
            return seen
        told = acct.get(job_id)
        if told is not None and told.ended:
            self.since.pop(job_id, None)
            # only the accounting sees the steps' memory: "out of memory" is its word
            oom = told.reason if told.reason == OUT_OF_MEMORY else seen.reason
            return replace(seen, reason=oom, usage=told.usage)
        # not listed yet is lagging too (slurmdbd had not heard of the job when sacct ran)
        since = self.since.setdefault(job_id, self.clock())
        if self.clock() - since > self.limit:
            return seen
        return replace(seen, provisional=True)


def requested(res: Resources) -> dict[str, int]:
    """What a task asks its scheduler for: cpus (nodes x tasks per node x cpus per task, as the
    backends ask: runner/schedulers/pbs.select), memory_mb (per node, times the nodes) and
    walltime_s; memory and walltime left out when not asked."""
    nodes = res.nodes or 1
    per_node = math.ceil((res.tasks or nodes) / nodes)
    out = {"cpus": nodes * per_node * (res.cpus_per_task or 1)}
    if res.memory:
        out["memory_mb"] = memory_mb(res.memory) * nodes
    if res.walltime:
        out["walltime_s"] = walltime_seconds(res.walltime)
    return out
