"""Pure parsers of slurmrestd's job listings (openapi/v0.0.38 and dbv0.0.38 of Slurm 22.05), tested
from answers recorded on the test cluster (tests/fixtures/slurmrestd).

GET /slurm/v0.0.38/jobs is slurmctld's view (squeue's): every job of the cluster, an array's
started elements one record each (`array_job_id`, `array_task_id`), its pending rest one record
whose `array_task_string` is a range (`0-2,4%2`). GET /slurmdb/v0.0.38/jobs is slurmdbd's
(sacct's), for jobs slurmctld no longer lists (ended more than MinJobAge ago): one record per
element, `array.task_id` its index (a pending rest's `array.task` is a hex bitmap).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runner.schedulers import arrays, states
from runner.schedulers.base import JobStatus

SOURCE = "slurmrestd"   # TaskRecord.usage's `source` for figures read here


def _indices(spec: str | None) -> list[int]:
    try:
        return arrays.expand(spec) if spec else []
    except ValueError:
        return []


def _bitmap(hexa: str | None) -> list[int]:
    """slurmdbd's `0xB` -> [0, 1, 3]."""
    try:
        bits = int(hexa or "0", 16)
    except ValueError:
        return []
    return [i for i in range(bits.bit_length()) if bits >> i & 1]


def job_ids(job: Mapping[str, Any]) -> list[str]:
    """The ids a slurmctld record stands for: `A_i` per element, the job id of a plain job."""
    array, task = job.get("array_job_id") or 0, job.get("array_task_id")
    if not array:
        return [str(job["job_id"])]
    if task is not None:
        return [f"{array}_{task}"]
    return [f"{array}_{i}" for i in _indices(job.get("array_task_string"))]


def db_ids(job: Mapping[str, Any]) -> list[str]:
    """The ids a slurmdbd record stands for (as job_ids())."""
    array = job.get("array") or {}
    if not array.get("job_id"):
        return [str(job["job_id"])]
    if array.get("task_id") is not None:
        return [f"{array['job_id']}_{array['task_id']}"]
    return [f"{array['job_id']}_{i}" for i in _bitmap(array.get("task"))]


def _ended_reason(native: str, code: int, signal: int) -> str | None:
    if native == "FAILED" and (code or signal):
        return f"exit code {code}" if code else f"killed by signal {signal}"
    return None


def status(native: str, detail: str | None, code: int = 0, signal: int = 0,
           usage: dict | None = None) -> JobStatus | None:
    """A native state as mso's (None: a state mso does not know); `detail`: why it waits."""
    entry = states.slurm(native)
    if entry is None:
        return None
    if entry.state.terminal:
        return JobStatus(entry.state, _ended_reason(native, code, signal) or entry.reason, usage)
    return JobStatus(entry.state, entry.reason or (detail if detail not in (None, "", "None") else None))


def _figures(**values: float | None) -> dict | None:
    out = {k: v for k, v in values.items() if v is not None}
    return {**out, "source": SOURCE} if out else None


def _span(start: Any, end: Any) -> int | None:
    return end - start if isinstance(start, int) and isinstance(end, int) and 0 < start <= end else None


def parse_jobs(body: Mapping[str, Any], wanted: Iterable[str]) -> dict[str, JobStatus | None]:
    """slurmctld's listing -> status of the wanted ids it lists (None: a state mso does not
    know); ended ones with their run and wait times."""
    want, out = set(wanted), {}
    for job in body.get("jobs") or []:
        ids = [i for i in job_ids(job) if i in want]
        if not ids:
            continue
        raw = int(job.get("exit_code") or 0)   # a wait status: code << 8 | signal
        st = status(str(job.get("job_state", "")), job.get("state_reason"), raw >> 8 & 0xFF, raw & 0x7F,
                    _figures(elapsed_s=_span(job.get("start_time"), job.get("end_time")),
                             queue_wait_s=_span(job.get("submit_time"), job.get("start_time"))))
        out.update(dict.fromkeys(ids, st))
    return out


def parse_db_jobs(body: Mapping[str, Any], wanted: Iterable[str]) -> dict[str, JobStatus]:
    """slurmdbd's listing -> status of the wanted ids it tells (unknown states left out); the
    latest record of an id wins (a requeued job's)."""
    want, out = set(wanted), {}
    for job in body.get("jobs") or []:
        ids = [i for i in db_ids(job) if i in want]
        if not ids:
            continue
        exit_code, t = job.get("exit_code") or {}, job.get("time") or {}
        total = t.get("total") or {}
        st = status(str((job.get("state") or {}).get("current", "")), None,
                    int(exit_code.get("return_code") or 0),
                    int((exit_code.get("signal") or {}).get("signal_id") or 0),
                    _figures(elapsed_s=t.get("elapsed"),
                             cpu_s=round(total.get("seconds", 0) + total.get("microseconds", 0) / 1e6, 3)
                             if total else None,
                             queue_wait_s=_span(t.get("submission"), t.get("start"))))
        if st is not None:
            out.update(dict.fromkeys(ids, st))
    return out


def listed(body: Mapping[str, Any], names: Iterable[str], db: bool = False) -> list[arrays.Listed]:
    """Every array element either listing shows under these array names (for find())."""
    keep, out = set(names), []
    for job in body.get("jobs") or []:
        if job.get("name") not in keep:
            continue
        for job_id in (db_ids(job) if db else job_ids(job)):
            if "_" in job_id:
                array, index = job_id.split("_")
                out.append(arrays.Listed(int(array), int(index), job["name"], job_id))
    return out


def parse_submit(body: Mapping[str, Any]) -> str | None:
    """The id of the submitted array, or None (the errors say why)."""
    job_id = body.get("job_id")
    return str(job_id) if isinstance(job_id, int) and job_id > 0 else None
