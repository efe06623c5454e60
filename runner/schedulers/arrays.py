"""What the batch backends share: index ranges, splitting a batch at the site's array limit, the
one script per batch whose array element runs the matching task's wrapper, safe directive values,
and finding a batch's arrays again by name (`ArrayScheduler.find`, written once for all).

Array indices are the tasks' own indices (minus the offset of their chunk), so the index of an
element found in the queue tells which task it runs, whoever submitted it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import shlex
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterable, Mapping, NamedTuple

from runner.errors import SchedulerError, SubmitLimited, command_failed
from runner.plan.resolve import task_id
from runner.schedulers import script
from runner.schedulers.limits import SubmitLimit
from runner.schedulers.base import Job, Scheduler
from runner.declarations.models import Infrastructure, Resources
from runner.transports.base import Result, Transport
from runner.words import plural

# A value a `#SBATCH`/`#PBS` line can carry unquoted: no blank, quote, `$`, `%` or newline.
_SAFE = re.compile(r"^[A-Za-z0-9_./+,:=@&|()\[\]!*-]+$")
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([KMGT]?)$")
_RUN_TIME = re.compile(r"^mso\.(\d{4})(\d\d)(\d\d)T")


@dataclass(frozen=True)
class Chunk:
    """Tasks submitted as one array: absolute task indices and the offset subtracted from them."""

    offset: int
    indices: tuple[int, ...]

    @property
    def relative(self) -> tuple[int, ...]:
        return tuple(i - self.offset for i in self.indices)


class Listed(NamedTuple):
    """One array element a scheduler listed under one of a batch's array names."""

    array: int      # the array's id: a later submission has a larger one
    index: int      # the element's index in its array (the chunk's offset not yet added)
    name: str       # the array's name
    job_id: str     # the element's own id, as status() and cancel() take it


def chunks(indices: list[int], limit: int | None) -> list[Chunk]:
    """Split task indices so every array index stays below the site's MaxArraySize."""
    if not limit:
        return [Chunk(0, tuple(sorted(indices)))]
    groups: dict[int, list[int]] = {}
    for i in sorted(indices):
        groups.setdefault(i // limit * limit, []).append(i)
    return [Chunk(off, tuple(ix)) for off, ix in sorted(groups.items())]


def compress(indices: tuple[int, ...]) -> str:
    """(0, 1, 2, 5, 7, 8) -> '0-2,5,7-8'."""
    parts: list[list[int]] = []
    for i in sorted(indices):
        if parts and parts[-1][1] == i - 1:
            parts[-1][1] = i
        else:
            parts.append([i, i])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)


def expand(spec: str) -> list[int]:
    """'[2-5%2]', '8-9,12', '1-7:2' (PBS step) or '7' -> the indices (ValueError if malformed)."""
    out: list[int] = []
    for part in spec.strip("[]").split("%")[0].split(","):
        rng, _, step = part.partition(":")
        lo, _, hi = rng.partition("-")
        out += range(int(lo), int(hi or lo) + 1, int(step or 1))
    return out


def base_name(jobs: list[Job]) -> str:
    """`mso.<run-id>.<step>`: the name of a batch's arrays, from which find() works back."""
    prefixes = {j.name.rsplit(".", 1)[0] for j in jobs}
    steps = {j.task.step for j in jobs}
    if len(prefixes) != 1 or len(steps) != 1:
        raise SchedulerError(f"one batch must hold tasks of one step of one run, got {sorted(prefixes)} "
                             f"and steps {sorted(steps)}")
    return f"{prefixes.pop()}.{steps.pop()}"


def chunk_name(base: str, offset: int) -> str:
    """The name of the array holding the chunk at this offset: `<base>` or `<base>+<offset>`."""
    return base if offset == 0 else f"{base}+{offset}"


def name_offsets(jobs: list[Job], limit: int | None) -> dict[str, int]:
    """Every array name under which these jobs may have been submitted, with its offset."""
    base = base_name(jobs)
    return {chunk_name(base, c.offset): c.offset for c in chunks([j.task.index for j in jobs], limit)}


def run_dir(jobs: list[Job]) -> PurePosixPath:
    """The run's work dir: the parent of every task's."""
    dirs = {j.work_dir.parent for j in jobs}
    if len(dirs) != 1:
        raise SchedulerError(f"the tasks of one batch must share a run dir, got {sorted(map(str, dirs))}")
    return dirs.pop()


def script_path(jobs: list[Job], suffix: str) -> PurePosixPath:
    """`<run>/.mso/<step>.<digest>.<suffix>`: the same batch always gets the same file."""
    digest = hashlib.sha256(",".join(sorted(j.name for j in jobs)).encode()).hexdigest()[:10]
    return run_dir(jobs) / script.META / f"{jobs[0].task.step}.{digest}.{suffix}"


def render(header: list[str], jobs: list[Job], index_vars: tuple[str, ...], label: str) -> str:
    """The batch's script: element i (plus the offset, `$1` or MSO_ARRAY_OFFSET) runs task i's wrapper."""
    index = "0"
    for var in reversed(index_vars):
        index = f"${{{var}:-{index}}}"
    lines = ["#!/bin/bash", *header, f"# {label}: {plural(len(jobs), 'task')}", "set -u",
             f'i=$(( {index} + ${{1:-${{MSO_ARRAY_OFFSET:-0}}}} ))', *_lookup(jobs),
             # read by this shell, not a second one (a process less per task); the wrapper's
             # own messages go to the element's scheduler log (_array_logs)
             f'. "$dir/{script.SCRIPT}"']
    return "\n".join(lines) + "\n"


def _lookup(jobs: list[Job]) -> list[str]:
    """Index -> `dir`, the task's work dir, or exit. Every element gets the whole script, so a
    batch of consecutive tasks in their usual dirs (STEP-NNNN) computes it; others list each."""
    q = shlex.quote
    ordered = sorted(jobs, key=lambda j: j.task.index)
    first, last, step = ordered[0].task.index, ordered[-1].task.index, ordered[0].task.step
    parent = ordered[0].work_dir.parent
    none = 'echo "mso: no task for array index $i in this batch" >&2; exit 0'
    if last - first + 1 == len(ordered) and all(
            j.work_dir == parent / task_id(step, j.task.index) for j in ordered):
        return [f"(( i >= {first} && i <= {last} )) || {{ {none}; }}",
                f"printf -v dir '%s/%s-%04d' {q(str(parent))} {q(step)} \"$i\""]
    return ['case "$i" in',
            *(f"  {j.task.index}) dir={q(str(j.work_dir))} ;;" for j in ordered),
            f"  *) {none} ;;", "esac"]


def write(transport: Transport, path: PurePosixPath, text: str) -> None:
    """Write a file on the host in one command (its folder is created)."""
    q = shlex.quote
    res = transport.run(f"mkdir -p {q(str(path.parent))} && cat > {q(str(path))}", stdin=text)
    if res.code != 0:
        raise SchedulerError("cannot write the batch script: " + failed(res))


def failed(res: Result) -> str:
    """A failed command: its text, exit code and output (for a SchedulerError)."""
    return command_failed(res.command, res.code, res.stdout, res.stderr)


def safe(option: str, value: object) -> str:
    """A value fit for a directive line, or a SchedulerError naming the option."""
    text = str(value)
    if not _SAFE.match(text):
        raise SchedulerError(f"scheduler option {option!r}: value {text!r} is not allowed (letters, digits "
                             f"and _./+,:=@&|()[]!*- only; no blanks, quotes, $, % or newlines)")
    return text


def memory_mb(text: str) -> int:
    """'2G' -> 2048, '1.5G' -> 1536, '512M' -> 512; a bare number is megabytes (as in Slurm)."""
    m = _MEMORY.match(text)
    if not m:
        raise SchedulerError(f"memory {text!r}: expected a number with an optional K, M, G or T suffix")
    factor = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2)]
    return max(1, math.ceil(float(m.group(1)) * factor))


def hms(seconds: int) -> str:
    """Seconds as H:MM:SS, hours unbounded (PBS walltime)."""
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def run_start(name: str) -> str:
    """A start time for accounting queries: the day before the run id's date, else 30 days back."""
    m = _RUN_TIME.match(name)
    if not m:
        return "now-30days"
    day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) - dt.timedelta(days=1)
    return day.isoformat()


def adopt(listed: Iterable[Listed], offsets: Mapping[str, int], jobs: list[Job]) -> dict[str, str]:
    """Job name -> element id for the listed elements that run one of these jobs; a task
    submitted more than once (a runner died between submitting and recording) keeps its latest."""
    by_index = {j.task.index: j.name for j in jobs}
    found: dict[str, Listed] = {}
    for item in listed:
        name = by_index.get(offsets[item.name] + item.index) if item.name in offsets else None
        if name and (name not in found or item.array >= found[name].array):
            found[name] = item
    return {name: item.job_id for name, item in found.items()}


class ArrayScheduler(Scheduler):
    """What the batch backends share: one script per batch, submitted as arrays no larger than
    the site allows, all of the batch or none of it (but a site's cap on queued jobs keeps what
    it took); adoption by array name; the array's throttle replaces mso's own. A backend
    supplies the hooks below, each a command builder and a parser joined through the transport."""

    _SUFFIX, _PREFIX = "sh", "#"
    _INDEX_VARS: tuple[str, ...] = ()
    _FLAGS: tuple[str, str, str]   # what gives a job its name, its stdout file, its stderr file

    def __init__(self, infra: Infrastructure, transport: Transport) -> None:
        super().__init__(infra, transport)
        self.limit = SubmitLimit(infra.max_submitted)

    def admit(self, jobs: list[Job], queued: int) -> list[Job]:
        """Whole arrays while the site's cap on queued jobs leaves room (runner/schedulers/
        limits.py); infra.max_parallel is the arrays' own throttle (%K, max_run_subjobs)."""
        by_index = {j.task.index: j for j in jobs}
        groups = [c.indices for c in chunks(list(by_index), self._max_array_size())]
        take = self.limit.admit(groups, queued)
        self.held = self.limit.reason() if len(take) < len(jobs) else None
        return [by_index[i] for i in take]

    def render(self, job: Job) -> str:
        meta = f"{safe('work dir', str(job.work_dir))}/{script.META}"
        name, out, err = self._FLAGS
        header = [f"{name}{safe('job name', job.name)}", *self._directives(job.task.resources),
                  f"{out}{meta}/scheduler.out", f"{err}{meta}/scheduler.err"]
        return script.render(job.task, job.work_dir, header=[f"{self._PREFIX} {h}" for h in header],
                             modules=self.infra.modules, environment=dict(self.infra.environment),
                             label=job.name, image=job.image)

    def submit(self, jobs: list[Job], after: dict[str, list[str]] | None = None) -> list[str]:
        if not jobs:
            return []
        base, path = base_name(jobs), script_path(jobs, self._SUFFIX)
        write(self.transport, path, self._script(jobs))
        ids: dict[int, str] = {}
        submitted: list[str] = []
        waits = {j.task.index: (after or {}).get(j.name, []) for j in jobs}
        try:
            for chunk in chunks([j.task.index for j in jobs], self._max_array_size()):
                submitted.append(self._submit_chunk(str(path), chunk, chunk_name(base, chunk.offset),
                                                    [waits[i] for i in chunk.indices]))
                ids.update({i: self._element(submitted[-1], i - chunk.offset) for i in chunk.indices})
        except SubmitLimited as exc:   # what was queued stays queued; the rest waits for room
            self.limit.refused(exc.limit, len(ids))
            self.held = self.limit.reason()
            raise SubmitLimited(exc.limit, {j.name: ids[j.task.index] for j in jobs
                                            if j.task.index in ids}) from None
        except SchedulerError:
            self.cancel(submitted)   # all of the batch or none of it
            raise
        return [ids[j.task.index] for j in jobs]

    def find(self, jobs: list[Job]) -> dict[str, str]:
        if not jobs:
            return {}
        offsets = name_offsets(jobs, self._max_array_size())
        return adopt(self._listed(sorted(offsets), run_start(jobs[0].name)), offsets, jobs)

    def _script(self, jobs: list[Job]) -> str:
        """The batch's script: the step's shared resources, then array index -> task."""
        if any(j.task.resources != jobs[0].task.resources for j in jobs):
            raise SchedulerError(f"{base_name(jobs)}: the tasks of one array must share resources")
        logs = f"{safe('run dir', str(run_dir(jobs)))}/{script.META}"
        header = [*self._directives(jobs[0].task.resources), *self._array_logs(logs, jobs[0].task.step)]
        return render([f"{self._PREFIX} {h}" for h in header], jobs, self._INDEX_VARS, base_name(jobs))

    @abstractmethod
    def _directives(self, res: Resources) -> list[str]:
        """The options every task of a step shares."""

    @abstractmethod
    def _array_logs(self, logs: str, step: str) -> list[str]:
        """Where the scheduler writes each element's own output (in the run's `logs` folder)."""

    @abstractmethod
    def _submit_chunk(self, path: str, chunk: Chunk, name: str, after: list[list[str]]) -> str:
        """Submit one array of the batch (`after`: per element, the ids it waits for); the id
        the scheduler printed."""

    @abstractmethod
    def _element(self, submitted: str, index: int) -> str:
        """The id of one element of a submitted array."""

    @abstractmethod
    def _max_array_size(self) -> int:
        """The largest array index + 1 the site accepts."""

    @abstractmethod
    def _listed(self, names: list[str], start: str) -> list[Listed]:
        """Every element of the arrays submitted under these names (since `start`, a date,
        where the scheduler's history needs one), live or finished."""
