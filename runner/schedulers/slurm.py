"""The Slurm backend: a step's ready tasks become one job array (split at MaxArraySize), and one
command per poll asks squeue about every job and sacct about those squeue does not show live
(runner/schedulers/slurm_query.py): sacct tells the end of jobs squeue no longer shows, and what
ended jobs used (runner/schedulers/accounting.py). A job neither tells about (no accounting, or
forgotten) is left out of status(): the wrapper's exit code decides.

Each operation is a command builder and a pure parser of the command's text (tested from
recorded output in tests/fixtures/slurm; squeue's and sacct's in slurm_status.py); the class
only joins them through the transport.
"""

from __future__ import annotations

import re
import shlex
import time
from typing import Any, Mapping

from runner.errors import SchedulerError, SubmitLimited, command_failed
from runner.schedulers import accounting, arrays, script
from runner.schedulers.base import Job, JobStatus
from runner.schedulers.slurm_estimate import estimate
from runner.schedulers.slurm_query import SACCT_FIELDS, SQUEUE_FORMAT, split_status, status_command
from runner.schedulers.slurm_status import parse_names, parse_sacct, parse_squeue
from runner.declarations.models import Infrastructure, Resources
from runner.declarations import scheduler_options as allowlist
from runner.transports.base import Result, Transport

# how long an ended job's status waits for sacct to tell its end (slurmdbd lags slurmctld by
# about a second here; a site's may lag longer), so that its usage is recorded
ACCOUNTING_LAG = 60.0
ACCOUNTING_EVERY = 4.0   # seconds between two sacct queries about what squeue shows ended
_MAX_ARRAY = re.compile(r"^MaxArraySize\s*=\s*(\d+)", re.M)
_GONE = ("Invalid job id specified",)
_NO_ACCOUNTING = "accounting storage is disabled"
DEFAULT_MAX_ARRAY_SIZE = 1001   # Slurm's own default


# ---- rendering -------------------------------------------------------------------------------

def passthrough(options: Mapping[str, Any]) -> list[str]:
    """`--name[=value]` for each resources.slurm option; one mso sets itself, or one sbatch(1) does
    not document, is refused by name."""
    allowlist.check("slurm", options, "resources.slurm: sbatch option")
    out = []
    for key in sorted(options):
        name, value = key.replace("_", "-"), options[key]
        if value is True:
            out.append(f"--{name}")
        elif value is not False and value is not None:
            out.append(f"--{name}={arrays.safe(key, value)}")
    return out


def directives(infra: Infrastructure, res: Resources) -> list[str]:
    """The sbatch options every task of a step shares, from the declarations."""
    safe = arrays.safe
    opts = [f"--partition={safe('partition', infra.partition)}"] if infra.partition else []
    opts += [f"--account={safe('account', infra.account)}"] if infra.account else []
    for flag, value in (("nodes", res.nodes), ("ntasks", res.tasks), ("cpus-per-task", res.cpus_per_task)):
        if value:
            opts.append(f"--{flag}={int(value)}")
    if res.memory:
        opts.append(f"--mem={arrays.memory_mb(res.memory)}M")
    if res.walltime:
        opts.append(f"--time={slurm_time(script.walltime_seconds(res.walltime))}")
    if res.gpus:
        opts.append(f"--gres=gpu:{int(res.gpus)}")
    return opts + passthrough(res.slurm)


def slurm_time(seconds: int) -> str:
    """Seconds as sbatch's `[D-]HH:MM:SS`."""
    days, rest = divmod(seconds, 86400)
    hms = f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"
    return f"{days}-{hms}" if days else hms


# ---- command builders ------------------------------------------------------------------------

def submit_command(path: str, indices: tuple[int, ...], name: str, offset: int, throttle: int | None,
                   dependency: str = "") -> str:
    """sbatch of one array of the batch script; the offset goes to the script as `$1`."""
    spec = arrays.compress(indices) + (f"%{throttle}" if throttle else "")
    args = ["sbatch", "--parsable", f"--job-name={name}", f"--array={spec}"]
    args += [f"--dependency={dependency}", "--kill-on-invalid-dep=yes"] if dependency else []
    return shlex.join(args + [path] + ([str(offset)] if offset else []))


def dependency(relative: tuple[int, ...], after: list[list[str]]) -> str:
    """`aftercorr:A` when element k waits exactly for element k of one array A (each matrix
    point's next step waits for its own previous step only), else `afterok:` on all of them."""
    waits = [w for w in after if w]
    if not waits:
        return ""
    arrays_ = {w[0].split("_")[0] for w in after if len(w) == 1}
    if len(arrays_) == 1 and all(len(w) == 1 and w[0] == f"{next(iter(arrays_))}_{k}"
                                 for k, w in zip(relative, after)):
        return f"aftercorr:{next(iter(arrays_))}"
    return "afterok:" + ":".join(sorted({i for w in waits for i in w}))


def find_commands(names: list[str], start: str) -> tuple[str, str]:
    """squeue (live jobs, and those ended within MinJobAge: sacct may not know them yet) and sacct
    (finished ones) by array name: `JobID|JobName|...` lines."""
    joined = "--name=" + ",".join(names)
    return ("SLURM_BITSTR_LEN=0 " + shlex.join(["squeue", "-h", "--states=all", "-o", SQUEUE_FORMAT,
                                                joined]),
            "SLURM_BITSTR_LEN=0 " + shlex.join(["sacct", "-X", "-P", "-n", "-o", SACCT_FIELDS,
                                                "-S", start, joined]))


def cancel_command(job_ids: list[str]) -> str:
    """One scancel for all these jobs."""
    return shlex.join(["scancel", *job_ids])


# ---- parsers (pure) --------------------------------------------------------------------------

# sbatch's first error line when an association's or QOS's cap on submitted jobs (array tasks
# count one by one) refuses a job: slurmctld's job state reasons WAIT_ASSOC_MAX_SUB_JOB,
# WAIT_ASSOC_GRP_SUB_JOB, WAIT_QOS_MAX_SUB_JOB_PER_USER/_ACCT and WAIT_QOS_GRP_SUB_JOB (their
# names as `scontrol` prints them; the second line is the generic "Job violates accounting/QOS
# policy", which a size or time limit also prints, and which is not a reason to wait)
_SUBMIT_LIMIT = re.compile(r"\b(?:Assoc|QOS)(?:Max|Grp)SubmitJobs?(?:PerUser|PerAccount)?Limit\b")


def parse_submit(code: int, stdout: str, stderr: str, command: str = "sbatch") -> str:
    """The job id `sbatch --parsable` printed (`ID` or `ID;cluster`), or a SchedulerError saying why not."""
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    job_id = lines[-1].split(";")[0].strip() if lines else ""
    if code != 0 or not job_id.isdigit():
        limit = _SUBMIT_LIMIT.search(stderr)
        if limit:
            raise SubmitLimited(limit.group(0))
        raise SchedulerError("submission failed: " + command_failed(command, code, stdout, stderr))
    return job_id


def parse_max_array_size(stdout: str) -> int | None:
    """MaxArraySize from `scontrol show config`."""
    m = _MAX_ARRAY.search(stdout)
    return int(m.group(1)) if m else None


# ---- the backend -----------------------------------------------------------------------------

class SlurmScheduler(arrays.ArrayScheduler):
    """sbatch job arrays, squeue + sacct status, scancel."""

    _SUFFIX, _PREFIX = "sbatch", "#SBATCH"
    _INDEX_VARS = ("SLURM_ARRAY_TASK_ID",)
    _FLAGS = ("--job-name=", "--output=", "--error=")
    chains = True

    def __init__(self, infra: Infrastructure, transport: Transport) -> None:
        super().__init__(infra, transport)
        self._max_array: int | None = infra.max_array_size
        self._lagging = accounting.Lagging(ACCOUNTING_LAG)
        self._acct_due = 0.0   # when sacct is next asked about jobs squeue shows ended

    def status(self, jobs: dict[str, Job]) -> dict[str, JobStatus]:
        if not jobs:
            return {}
        # slurmdbd records ends in batches, seconds apart: asking it every poll about what squeue
        # shows ended costs its database work for nothing new (jobs squeue no longer lists are
        # always asked about: nothing else tells their end)
        due = time.monotonic() >= self._acct_due
        res = self.transport.run(status_command(list(jobs), ended=due))
        if due:
            self._acct_due = time.monotonic() + ACCOUNTING_EVERY
        queued, code, told = split_status(res.stdout)
        if code != 0 and not any(g in res.stderr for g in _GONE):
            raise SchedulerError("squeue failed: " + arrays.failed(res))
        listed = parse_squeue(queued if code == 0 else "")
        acct = self._accounting(res, told, missing=any(j not in listed for j in jobs))
        out = {j: self._lagging.joined(j, st, acct) for j, st in listed.items() if j in jobs and st is not None}
        if all(st.ended for st in out.values()) and len(out) == len(jobs):
            self._acct_due = 0.0   # nothing but the accounting is waited for: ask it every poll
        # jobs squeue no longer shows, as sacct tells their end (one it still shows pending or
        # running is left out until it tells how the job ended: the wrapper's exit code decides)
        return {**out, **{j: st for j, st in (acct or {}).items()
                          if j in jobs and j not in listed and st.ended}}

    def cancel(self, job_ids: list[str]) -> None:
        if job_ids:
            res = self.transport.run(cancel_command(job_ids))
            if res.code != 0 and not any(g in res.stderr for g in _GONE):
                raise SchedulerError("scancel failed: " + arrays.failed(res))

    def start_estimate(self, res: Resources) -> float | None:
        return estimate(self.transport, self._directives(res))

    def _accounting(self, res: Result, told: str, missing: bool) -> dict[str, JobStatus] | None:
        """sacct's statuses (None without accounting); a failed sacct matters only when squeue
        no longer shows some job, else the poll goes on without usage figures."""
        if res.code == 0:
            return parse_sacct(told)
        if missing and _NO_ACCOUNTING not in res.stderr:
            raise SchedulerError("sacct failed: " + arrays.failed(res))
        return None

    def _directives(self, res: Resources) -> list[str]:
        return directives(self.infra, res)

    def _array_logs(self, logs: str, step: str) -> list[str]:
        return [f"--output={logs}/{step}.%A_%a.out"]

    def _submit_chunk(self, path: str, chunk: arrays.Chunk, name: str, after: list[list[str]]) -> str:
        res = self.transport.run(submit_command(path, chunk.relative, name, chunk.offset,
                                                self.infra.max_parallel,
                                                dependency(chunk.relative, after)))
        return parse_submit(res.code, res.stdout, res.stderr, res.command)

    def _element(self, submitted: str, index: int) -> str:
        return f"{submitted}_{index}"

    def _listed(self, names: list[str], start: str) -> list[arrays.Listed]:
        out: list[arrays.Listed] = []
        for cmd in find_commands(names, start):
            res = self.transport.run(cmd)
            if res.code != 0 and _NO_ACCOUNTING not in res.stderr:
                raise SchedulerError("cannot look for submitted jobs: " + arrays.failed(res))
            out += parse_names(res.stdout if res.code == 0 else "")
        return out

    def _max_array_size(self) -> int:
        """MaxArraySize: declared by the infrastructure, else asked of the site once."""
        if self._max_array is None:
            res = self.transport.run("scontrol show config")
            self._max_array = (parse_max_array_size(res.stdout) if res.code == 0 else None) \
                or DEFAULT_MAX_ARRAY_SIZE
        return self._max_array
