"""Run and task states, the allowed transitions, and the run record (results/<exp>/<run>/run.json)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from runner import __version__
from runner.errors import StateError
from runner.fsutil import write_atomic

RECORD = "run.json"
PLAN = "plan.json"     # beside it: the fully resolved tasks, read back on resume
SPEC = "spec.json"     # ... and what its result depends on (runner/plan/spec.py), for `mso plan`


class State(StrEnum):
    PENDING = "pending"        # planned, not yet started or submitted
    QUEUED = "queued"          # handed to the scheduler, waiting for resources
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"          # a run the runner stopped watching; the next `mso run` resumes it

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})

ALLOWED = {
    State.PENDING: {State.QUEUED, State.RUNNING, State.SUCCEEDED, State.FAILED, State.CANCELLED},
    State.QUEUED: {State.RUNNING, State.SUCCEEDED, State.FAILED, State.CANCELLED, State.PENDING},
    State.RUNNING: {State.SUCCEEDED, State.FAILED, State.CANCELLED, State.QUEUED},
    State.SUCCEEDED: set(),
    State.FAILED: set(),
    State.CANCELLED: set(),
}


def now() -> str:
    """UTC time as ISO 8601 with a Z, to the second."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TaskRecord:
    id: str
    step: str
    index: int
    parameters: dict[str, Any]
    needs: list[str] = field(default_factory=list)
    state: State = State.PENDING
    reason: str | None = None
    job_id: str | None = None
    submitted: str | None = None
    started: str | None = None
    ended: str | None = None
    exit_code: int | None = None
    peak_memory_kb: int | None = None
    # what it asked for: {cpus, memory_mb, walltime_s}; what it used: {elapsed_s, cpu_s,
    # queue_wait_s, energy_j, source} from the wrapper and the scheduler's accounting
    requested: dict[str, int] | None = None
    usage: dict[str, Any] | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)
    # what determines the task's result (runner/plan/identity.py): a task of a later run with the
    # same identity reuses this one's result when it succeeded
    identity: str | None = None
    # a task not run but taken over from an earlier run: {"run": RUN-ID, "task": TASK-ID}
    reused: dict[str, str] | None = None
    # its application logs, classified (live while it runs, completed at collection):
    # {"counts": {SEVERITY: N}, "first_error": {"log", "line", "text"} | None, "progress": % | None}
    logs: dict[str, Any] | None = None
    # its result metrics (the application's `results` files): name -> scalar
    metrics: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.state = State(self.state)   # run.json holds the value; memory holds the enum

    def move(self, to: State, reason: str | None = None) -> bool:
        """Change state if the move is allowed; False (and no change) otherwise."""
        if to == self.state or to not in ALLOWED[self.state]:
            return False
        self.state, self.reason = to, reason if reason is not None else self.reason
        return True


@dataclass
class RunRecord:
    run_id: str
    experiment: str
    spec_hash: str
    application: dict[str, Any]
    infrastructure: dict[str, Any]
    tasks: list[TaskRecord]
    state: State = State.PENDING
    reason: str | None = None
    created: str = field(default_factory=now)
    updated: str = field(default_factory=now)
    mso_version: str = __version__
    git: dict[str, Any] = field(default_factory=dict)
    work_dir: str = ""
    datasets: dict[str, str | None] = field(default_factory=dict)
    cancelled_by: str | None = None
    # who started it: the GitLab user in a pipeline, else the git author
    triggered_by: str | None = None
    format: int = 1
    # per application and infrastructure: the image the tasks ran in, pinned by digest, and
    # whether this run pulled it (see runner/runs/images.py); left out of run.json when empty
    images: list[dict[str, Any]] = field(default_factory=list)
    # `mso rerun`: the run this one re-executes exactly as recorded
    rerun_of: str | None = None
    # stage-in per infrastructure and dataset: {sha256, route, bytes, seconds, path}
    staged: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # the catalogue entries (dataset names) that publish_outputs wrote for this run
    published: list[str] = field(default_factory=list)
    # the cloud servers made (or taken warm) for it: runner/cloud/servers.py
    servers: list[dict[str, Any]] = field(default_factory=list)
    # where steps with candidate infrastructures went, and the predictions behind it:
    # runner/placement/
    placement: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = State(self.state)

    def task(self, task_id: str) -> TaskRecord:
        return next(t for t in self.tasks if t.id == task_id)

    def derive_state(self) -> State:
        """The run's state from its tasks (a paused run stays paused until resumed)."""
        states = {t.state for t in self.tasks}
        if not states <= TERMINAL:
            if self.state == State.PAUSED:
                return State.PAUSED
            return State.RUNNING if states & {State.RUNNING, State.QUEUED} else State.PENDING
        if states == {State.SUCCEEDED}:
            return State.SUCCEEDED
        return State.CANCELLED if self.cancelled_by else State.FAILED

    def to_json(self) -> str:
        """Pretty at the top, one line per task: readable diffs in git, and json's C encoder
        (which `indent` would turn off) for big sweeps."""
        head = _kept({k: v for k, v in vars(self).items() if k != "tasks"})
        lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
        tasks = ",\n".join(f"    {json.dumps(_kept(vars(t)), ensure_ascii=False)}" for t in self.tasks)
        return "{\n" + "\n".join(lines) + f'\n  "tasks": [\n{tasks}\n  ]\n}}\n'


# fields added after runs were recorded: left out of run.json while unset, so that a record
# written before them reads and writes back byte for byte
_UNSET_LEFT_OUT = frozenset({"images", "rerun_of", "identity", "reused", "logs", "staged",
                             "published", "requested", "usage", "metrics", "triggered_by",
                             "servers", "placement"})


def _kept(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v or k not in _UNSET_LEFT_OUT}


def save(record: RunRecord, folder: Path) -> None:
    """Write run.json atomically, stamping the time of the change."""
    record.updated = now()
    write_atomic(folder / RECORD, record.to_json())


def load(path: Path) -> RunRecord:
    """Read a run record; a corrupt one is a StateError naming the file."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None
    return from_data(data, path)


def from_data(data: dict[str, Any], path: Path) -> RunRecord:
    """The run record parsed from `path` (which only names it in errors); `data` is not changed."""
    try:
        tasks = [TaskRecord(**t) for t in data["tasks"]]
        return RunRecord(**{k: v for k, v in data.items() if k != "tasks"}, tasks=tasks)
    except (ValueError, TypeError, KeyError) as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> StateError:
    return StateError(f"{path}: unreadable run record ({exc}); move it away to start afresh")


def records(results: Path, experiment: str | None = None) -> list[tuple[Path, RunRecord]]:
    """Every readable run record under results/, oldest first (run ids sort by time)."""
    pattern = f"{experiment}/*/{RECORD}" if experiment else f"*/*/{RECORD}"
    found = []
    for path in sorted(results.glob(pattern), key=lambda p: p.parent.name):
        found.append((path.parent, load(path)))
    return found
