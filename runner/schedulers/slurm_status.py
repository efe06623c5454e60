"""How Slurm's answers about jobs are read: squeue's and sacct's lines (`-P`, `|`-separated) into
a status per job id, pure functions tested from recorded output in tests/fixtures/slurm. An
array's pending range stands for each of its elements; sacct's steps (`123.batch`) tell only
what the job used."""

from __future__ import annotations

import functools
import re

from runner.schedulers import accounting, arrays, states
from runner.schedulers.base import JobStatus
from runner.schedulers.states import OUT_OF_MEMORY
from runner.state import State

_ID = re.compile(r"^(\d+)(?:_(\d+|\[[^\]]*\]?))?$")


def split_id(text: str) -> tuple[str, list[int] | None]:
    """'123_4' -> ('123', [4]); '123_[2-5%2]' -> ('123', [2, 3, 4, 5]); '123' -> ('123', None)."""
    m = _ID.match(text.strip())
    if not m:
        raise ValueError(text)
    return m.group(1), (arrays.expand(m.group(2)) if m.group(2) else None)


def _ids(text: str) -> list[str]:
    """Every job id a JobID field stands for (a pending range stands for each of its elements)."""
    try:
        base, indices = split_id(text)
    except ValueError:
        return []   # a step (`123.batch`), a truncated range: nothing mso asked about
    return [base] if indices is None else [f"{base}_{i}" for i in indices]


@functools.lru_cache(maxsize=256)   # a poll reads a line per job, in a handful of distinct states
def _status(native: str, detail: str = "") -> JobStatus | None:
    entry = states.slurm(native)
    if entry is None:
        return None
    if entry.state.terminal:  # squeue's reason column says nothing useful once a job ended
        return JobStatus(entry.state, entry.reason)
    return JobStatus(entry.state, entry.reason or (detail if detail not in ("", "None") else None))


def parse_squeue(stdout: str) -> dict[str, JobStatus | None]:
    """`%i|%j|%T|%r` lines -> status per job id; None for a job listed in a state mso does not know."""
    out: dict[str, JobStatus | None] = {}
    for line in stdout.splitlines():
        fields = line.split("|")
        if len(fields) >= 4:
            for job_id in _ids(fields[0]):
                out[job_id] = _status(fields[2].strip(), fields[3].strip())
    return out


def _sacct_reason(native: str, exit_code: str) -> str | None:
    code, _, signal = exit_code.partition(":")
    base = native.split()[0].rstrip("+")
    if base == "FAILED" and code.isdigit() and signal.isdigit():
        return f"exit code {code}" if int(code) else f"killed by signal {signal}" if int(signal) else None
    if base == "CANCELLED" and native.split()[1:2] == ["by"]:
        return f"cancelled by the scheduler or a user (uid {native.split()[-1]})"
    return None


def parse_sacct(stdout: str) -> dict[str, JobStatus]:
    """`JobID|JobName|State|ExitCode|...` lines (sacct -X -P) -> status per job id; the last line
    of a job wins (its latest attempt); unknown states and steps are left out, and so is a job
    SIGKILLed while a step of it is still live in the accounting: slurmdbd can record the
    allocation's end a moment before its steps', and only their peak memory tells whether the
    kill was for memory. (Any other end is taken at once: waiting for every job's steps cost
    bench/detect.py 0.7 s.)"""
    out: dict[str, JobStatus] = {}
    lines = [line.split("|") for line in stdout.splitlines()]
    steps: dict[str, list[list[str]]] = {}
    for fields in lines:   # `123.batch`, `123_4.0`: what a job's steps used
        job, dot, _ = fields[0].partition(".")
        if dot:
            steps.setdefault(job, []).append(fields)
    for fields in lines:
        if len(fields) < 4 or not fields[2].strip():
            continue
        st, own = _status(fields[2].strip()), steps.get(fields[0], [])
        failed = st is not None and st.state == State.FAILED
        if st is None or (failed and accounting.sigkilled(fields) and _live_step(own)):
            continue
        reason = _sacct_reason(fields[2].strip(), fields[3].strip()) or st.reason
        if failed and accounting.over_memory(fields, own):
            reason = OUT_OF_MEMORY
        used = accounting.sacct_usage(fields) if st.state.terminal else None
        for job_id in _ids(fields[0]):
            out[job_id] = JobStatus(st.state, reason, used)
    return out


def _live_step(steps: list[list[str]]) -> bool:
    return any(len(f) > 2 and (st := _status(f[2].strip())) is not None and not st.state.terminal
               for f in steps)


def parse_names(stdout: str) -> list[arrays.Listed]:
    """`JobID|JobName|...` lines (squeue or sacct) -> every array element listed."""
    out = []
    for line in stdout.splitlines():
        fields = line.split("|")
        if len(fields) >= 2:
            for job_id in _ids(fields[0]):
                if "_" in job_id:
                    base, index = job_id.split("_")
                    out.append(arrays.Listed(int(base), int(index), fields[1].strip(), job_id))
    return out
