"""The PBS Professional / OpenPBS backend (Torque is a thin subclass, torque.py): a step's ready
tasks become one job array (`qsub -J`), one `qstat -f -x -t` asks about every job per poll.

Each operation is a command builder and a pure parser (tested from tests/fixtures/pbs); the
class joins them through the transport. A job qstat no longer knows, or one that ended without an
exit status, is for the wrapper's exit code to decide: status() leaves the first out and says
`JobStatus(None, ...)` of the second.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import replace
from typing import Any, Iterable, Mapping

from runner.errors import SchedulerError, SubmitLimited, command_failed
from runner.schedulers import accounting, arrays, script, states
from runner.schedulers.base import Job, JobStatus
from runner.declarations.models import Infrastructure, Resources
from runner.state import State
from runner.declarations import scheduler_options as allowlist
from runner.transports.base import Transport

_JOB_ID = re.compile(r"^(\d+)(\[(\d*)\])?(\.\S+)?$")
_ATTR = re.compile(r"^\s+([A-Za-z_][\w.]*) = (.*)$")
_QUIET = (0, 35, 153)   # qstat/qdel: done, "job has finished", "unknown job id"


# ---- rendering -------------------------------------------------------------------------------

def passthrough(options: Mapping[str, Any], kind: str = "pbs") -> tuple[list[str], list[str]]:
    """(directives, select-chunk items) for each option of a `pbs` or `torque` site; one mso sets
    itself, or one qsub does not document, is refused by name."""
    allowlist.check(kind, options, "resources.pbs" + " (Torque)" * (kind == "torque") + ": option")
    allowed, chunk = (allowlist.PBS, allowlist.PBS_CHUNK) if kind == "pbs" else (allowlist.TORQUE, ())
    out, items = [], []
    for key in sorted(options):
        name, value = key.replace("_", "-"), options[key]
        if value is False or value is None:
            continue
        text = arrays.safe(key, "y" if value is True else value)
        if name in chunk:
            items.append(f"{name.replace('-', '_')}={text}")
        else:
            out.append(allowed[name].format(text))
    return out, items


def select(res: Resources, extra: list[str]) -> str | None:
    """`N:ncpus=C:mpiprocs=T:mem=Mmb[:ngpus=G]`: one chunk per node."""
    nodes = res.nodes or 1
    per_node = math.ceil((res.tasks or 1) / nodes)
    items = [f"ncpus={per_node * (res.cpus_per_task or 1)}"] if res.tasks or res.cpus_per_task else []
    items += [f"mpiprocs={per_node}"] if res.tasks else []
    items += [f"mem={arrays.memory_mb(res.memory)}mb"] if res.memory else []
    items += [f"ngpus={int(res.gpus)}"] if res.gpus else []
    items += extra
    return ":".join([str(nodes), *items]) if items or res.nodes else None


def queue_account(infra: Infrastructure) -> list[str]:
    """The `-q` and `-A` lines (PBS Professional and Torque alike)."""
    queue = infra.queue or infra.partition
    opts = [f"-q {arrays.safe('queue', queue)}"] if queue else []
    return opts + ([f"-A {arrays.safe('account', infra.account)}"] if infra.account else [])


def walltime(res: Resources) -> list[str]:
    """The `-l walltime=H:MM:SS` line (PBS Professional and Torque alike)."""
    return [f"-l walltime={arrays.hms(script.walltime_seconds(res.walltime))}"] if res.walltime else []


def directives(infra: Infrastructure, res: Resources) -> list[str]:
    """The qsub options every task of a step shares (PBS Professional)."""
    extra, chunk = passthrough(res.pbs)
    chosen = select(res, chunk)
    return [*queue_account(infra), *([f"-l select={chosen}"] if chosen else []), *walltime(res), *extra]


# ---- ids, commands and parsers (pure) --------------------------------------------------------

def element(job_id: str, index: int) -> str:
    """'1234[].srv' (or '1234') and 5 -> '1234[5].srv'."""
    m = _JOB_ID.match(job_id)
    if not m:
        raise SchedulerError(f"unexpected job id {job_id!r}")
    return f"{m.group(1)}[{index}]{m.group(4) or ''}"


def key(job_id: str) -> tuple[str, str | None]:
    """(sequence number, array index) of a job id, whatever server suffix qstat prints."""
    m = _JOB_ID.match(job_id.strip())
    return (m.group(1), m.group(3)) if m else (job_id, None)


def parent(job_id: str) -> str:
    """'1234[5].srv' -> '1234[].srv' (the array, as qstat -t wants it)."""
    return re.sub(r"\[\d+\]", "[]", job_id)


def submit_command(path: str, name: str, array: list[str], offset: int) -> str:
    """qsub of one array of the batch script (`array`: -J or -t and its limit); the offset goes
    to the script as MSO_ARRAY_OFFSET."""
    offset_args = ["-v", f"MSO_ARRAY_OFFSET={offset}"] if offset else []
    return shlex.join(["qsub", "-N", name, *array, *offset_args, path])


def qstat_command(job_ids: list[str], as_json: bool, history: tuple[str, ...]) -> str:
    """One qstat for these jobs and their subjobs, finished ones too where `history` (-x) asks."""
    return shlex.join(["qstat", "-f", *(["-F", "json"] if as_json else []), *history, "-t", *job_ids])


def qselect_command(names: list[str], history: tuple[str, ...]) -> str:
    """One qselect per array name, each after an `# <name>` marker line (qselect prints ids only)."""
    return " ; ".join(f"echo {shlex.quote('# ' + n)} ; " + shlex.join(["qselect", *history, "-N", n])
                      for n in names)


# qsub's refusal for a cap on queued jobs (array subjobs count one by one): PBS Pro's
# max_queued / queued_jobs_threshold ("would exceed queue workq's per-user limit of jobs in 'Q'
# state", also complex's, per-group, per-project), and PBSE_MAXQUED, which PBS Pro and Torque's
# max_queuable / max_user_queuable print ("Maximum number of jobs already in queue ...")
_SUBMIT_LIMIT = re.compile(r"would exceed [^\n]*limit of jobs in 'Q' state|"
                           r"Maximum number of jobs already in queue(?: for user)?")


def parse_submit(code: int, stdout: str, stderr: str, command: str = "qsub") -> str:
    """The id qsub printed (`1234.server`, `1234[].server`, or a bare number), or why not."""
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    if code != 0 or not lines or not _JOB_ID.match(lines[-1]):
        limit = _SUBMIT_LIMIT.search(stderr)
        if limit:
            raise SubmitLimited(limit.group(0))
        raise SchedulerError("submission failed: " + command_failed(command, code, stdout, stderr))
    return lines[-1]


def parse_qstat_full(stdout: str) -> dict[str, dict[str, str]]:
    """`qstat -f` text (PBS Pro, Torque, or Slurm's Torque wrappers) -> attributes per job id."""
    jobs: dict[str, dict[str, str]] = {}
    attrs: dict[str, str] | None = None
    last = ""
    for line in stdout.splitlines():
        if line.startswith("Job Id:"):
            attrs = jobs.setdefault(line.split(":", 1)[1].strip(), {})
        elif attrs is not None and (m := _ATTR.match(line)):
            last, attrs[m.group(1)] = m.group(1), m.group(2).strip()
        elif attrs is not None and last and line.startswith("\t"):
            attrs[last] += line[1:].rstrip()   # a long value wrapped onto a tab-led next line
    return jobs


def _flatten(attrs: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in attrs.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{name}."))
        else:
            out[prefix + name] = str(value)
    return out


def parse_qstat_json(stdout: str) -> dict[str, dict[str, str]]:
    """`qstat -f -F json` (PBS Professional) -> the same flat attributes as the text form."""
    try:
        data = json.loads(stdout) if stdout.strip() else {}
    except ValueError as exc:
        raise SchedulerError(f"qstat printed JSON that cannot be read ({exc})") from None
    return {job_id: _flatten(attrs) for job_id, attrs in data.get("Jobs", {}).items()}


def outcome(attrs: Mapping[str, str], exits: Mapping[int, str]) -> JobStatus:
    """How an ended job ended: deleted, a limit, its exit status, or (none given) state None."""
    code_text = attrs.get("Exit_status", attrs.get("exit_status"))
    code = int(code_text) if code_text and code_text.lstrip("-").isdigit() else None
    comment = attrs.get("comment", "").lower()
    if attrs.get("substate") == "91":   # PBS Pro history: JOB_SUBSTATE_TERMINATED (qdel)
        return JobStatus(State.CANCELLED, "cancelled by the scheduler or a user")
    if "walltime" in comment and "exceed" in comment or _over_walltime(attrs, code):
        return JobStatus(State.FAILED, "walltime exceeded")
    if "mem" in comment and "exceed" in comment:
        return JobStatus(State.FAILED, "out of memory")
    if code is None:   # Torque's C, or Slurm's Torque wrappers: ended, how is the wrapper's to say
        return JobStatus(None, "ended; the scheduler recorded no exit status")
    reason = states.exit_reason(code, dict(exits))
    return JobStatus(State.SUCCEEDED if reason is None else State.FAILED, reason)


def _over_walltime(attrs: Mapping[str, str], code: int | None) -> bool:
    used, limit = attrs.get("resources_used.walltime"), attrs.get("Resource_List.walltime")
    if not code or not used or not limit:
        return False
    seconds = [sum(int(p) * 60 ** i for i, p in enumerate(reversed(t.split(":")))) for t in (used, limit)]
    return seconds[0] >= seconds[1]


def statuses(records: Mapping[str, Mapping[str, str]], table: Mapping[str, states.Native],
             exits: Mapping[int, str]) -> dict[str, JobStatus | None]:
    """Status per job id; None for a state mso does not know (keep watching)."""
    out: dict[str, JobStatus | None] = {}
    for job_id, attrs in records.items():
        entry = table.get(attrs.get("job_state", ""))
        if entry is None or not entry.state.terminal:
            out[job_id] = entry and JobStatus(entry.state, entry.reason)
        else:   # with what the job used, as far as this qstat reports it
            out[job_id] = replace(outcome(attrs, exits), usage=accounting.qstat_usage(attrs))
    return out


def parse_qselect(stdout: str) -> dict[str, str]:
    """`# name` marker lines, each followed by qselect's ids -> {job id: name}."""
    named, name = {}, ""
    for line in stdout.splitlines():
        if line.startswith("# "):
            name = line[2:].strip()
        elif line.strip() and name:
            named[line.strip()] = name
    return named


def subjobs(job_ids: Iterable[str], named: Mapping[str, str]) -> list[arrays.Listed]:
    """The subjobs among qstat's ids, each with the name qselect gave its array ({job id: name}),
    matched by sequence number: qselect and qstat may print different server suffixes."""
    names = {key(job_id)[0]: name for job_id, name in named.items()}
    out = []
    for job_id in job_ids:
        seq, index = key(job_id)
        if index and seq in names:
            out.append(arrays.Listed(int(seq), int(index), names[seq], job_id))
    return out


# ---- the backend -----------------------------------------------------------------------------

class PbsScheduler(arrays.ArrayScheduler):
    """qsub -J job arrays, qstat -f -x -t status (JSON where the site's qstat has it), qdel."""

    _SUFFIX, _PREFIX = "pbs", "#PBS"
    _STATES, _EXITS = states.PBS_PRO, states.PBS_PRO_EXIT
    _INDEX_VARS: tuple[str, ...] = ("PBS_ARRAY_INDEX",)
    _FLAGS = ("-N ", "-o ", "-e ")
    _HISTORY: tuple[str, ...] = ("-x",)   # finished jobs too (job_history_enable)
    _DEFAULT_MAX_ARRAY_SIZE = 10000       # the server's max_array_size default
    _JSON = True                          # qstat -F json (PBS Pro); off again if it prints junk

    def __init__(self, infra: Infrastructure, transport: Transport) -> None:
        super().__init__(infra, transport)
        self._json = self._JSON

    def status(self, jobs: dict[str, Job]) -> dict[str, JobStatus]:
        if not jobs:
            return {}
        records = self._query(sorted({parent(j) for j in jobs}))
        known = {key(j): st for j, st in statuses(records, self._STATES, self._EXITS).items()}
        # a job qstat forgot (no history kept) or lists in a state mso does not know is left out
        return {j: st for j in jobs if (st := known.get(key(j))) is not None}

    def cancel(self, job_ids: list[str]) -> None:
        if job_ids:
            res = self.transport.run(shlex.join(["qdel", *job_ids]))
            if res.code not in _QUIET:
                raise SchedulerError("qdel failed: " + arrays.failed(res))

    def _query(self, job_ids: list[str]) -> dict[str, dict[str, str]]:
        """Attributes of these jobs and their subjobs, in one qstat (text if JSON is unreadable)."""
        if not job_ids:
            return {}
        res = self.transport.run(qstat_command(job_ids, self._json, self._HISTORY))
        if res.code not in _QUIET:
            raise SchedulerError("qstat failed: " + arrays.failed(res))
        if not self._json:
            return parse_qstat_full(res.stdout)
        try:
            return parse_qstat_json(res.stdout)
        except SchedulerError:
            self._json = False   # some qstat versions print invalid JSON: use the text form
            return self._query(job_ids)

    def _directives(self, res: Resources) -> list[str]:
        return directives(self.infra, res)

    def _array_logs(self, logs: str, step: str) -> list[str]:
        return ["-j oe", f"-o {logs}/{step}.^array_index^.out"]

    def _array(self, relative: tuple[int, ...]) -> list[str]:
        """qsub's array arguments. PBS Pro arrays are ranges of two or more: indices in between
        run as no-ops."""
        lo, hi = min(relative), max(max(relative), min(relative) + 1)
        limit = ["-W", f"max_run_subjobs={self.infra.max_parallel}"] if self.infra.max_parallel else []
        return ["-J", f"{lo}-{hi}", *limit]

    def _submit_chunk(self, path: str, chunk: arrays.Chunk, name: str, after: list[list[str]]) -> str:
        res = self.transport.run(submit_command(path, name, self._array(chunk.relative), chunk.offset))
        return parse_submit(res.code, res.stdout, res.stderr, res.command)

    def _element(self, submitted: str, index: int) -> str:
        return element(submitted, index)

    def _listed(self, names: list[str], start: str) -> list[arrays.Listed]:
        res = self.transport.run(qselect_command(names, self._HISTORY))
        if res.code != 0:
            raise SchedulerError("cannot look for submitted jobs: " + arrays.failed(res))
        named = parse_qselect(res.stdout)
        return subjobs(self._query(sorted(named)), named)

    def _max_array_size(self) -> int:
        return self.infra.max_array_size or self._DEFAULT_MAX_ARRAY_SIZE
