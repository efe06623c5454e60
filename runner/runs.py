"""A run in progress: create it from a plan (record first, then work dirs), or resume it from disk."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from runner import state
from runner.errors import MsoError, StagingError, StateError
from runner.fsutil import inside, write_atomic
from runner.plan import RunPlan, TaskPlan
from runner.schedulers import script
from runner.schedulers.base import Job, Scheduler, for_infrastructure
from runner.spec.models import Infrastructure, Repository, plain
from runner.staging import area, stagein
from runner.staging.area import WorkArea
from runner.transports.base import Transport
from runner.state import RunRecord, State, TaskRecord

PLAN = "plan.json"                 # in results/<exp>/<run-id>/: the fully resolved tasks
PREPARED = f"{script.META}/prepared"  # in a staged task dir: inputs and script are in place


@dataclass(frozen=True)
class Place:
    """Where some of a run's tasks execute: an infrastructure, its scheduler, the run's work
    area there."""

    infra: Infrastructure
    scheduler: Scheduler
    area: WorkArea


@dataclass
class ActiveRun:
    """A run being executed or watched: its record, its tasks and where they run."""

    record: RunRecord
    tasks: dict[str, TaskPlan]
    results: Path               # results/<experiment>/<run-id>
    places: dict[str, Place]    # by infrastructure name: a step may run somewhere else
    keep_workdir: bool = False
    dirty: bool = field(default=False, repr=False)
    _mtime: int = field(default=0, repr=False)
    # the record's tasks are fixed at creation: indexes built once, read on every watcher tick
    _by_id: dict[str, TaskRecord] = field(init=False, repr=False)
    _on: dict[str, list[TaskRecord]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {t.id: t for t in self.record.tasks}
        self._on = {name: [] for name in self.places}
        for t in self.record.tasks:
            self._on.setdefault(self.tasks[t.id].infrastructure, []).append(t)

    def task(self, task_id: str) -> TaskRecord:
        return self._by_id[task_id]

    def tasks_on(self, infrastructure: str) -> list[TaskRecord]:
        """The task records that run on an infrastructure."""
        return self._on.get(infrastructure, [])

    @property
    def finished(self) -> bool:
        """Whether every task has ended."""
        return all(State(t.state).terminal for t in self.record.tasks)

    def pause(self, reason: str) -> None:
        """Stop watching, saved at once: the jobs go on and the next `mso run` resumes."""
        self.record.state, self.record.reason = State.PAUSED.value, reason
        self.save()

    def place(self, task_id: str) -> Place:
        return self.places[self.tasks[task_id].infrastructure]

    def job(self, task_id: str) -> Job:
        return Job(self.tasks[task_id], f"mso.{self.record.run_id}.{task_id}",
                   self.place(task_id).area.task_dir(task_id))

    def save(self) -> None:
        """Write the record; a cancellation written meanwhile by `mso cancel` wins."""
        self.check_cancelled()
        self.record.state = self.record.derive_state().value
        state.save(self.record, self.results)
        self._mtime = (self.results / state.RECORD).stat().st_mtime_ns
        self.dirty = False

    def check_cancelled(self) -> bool:
        """Adopt a cancellation another process (`mso cancel`) wrote into the record."""
        on_disk = self.results / state.RECORD
        try:
            mtime = on_disk.stat().st_mtime_ns
        except OSError:
            return False
        if mtime == self._mtime or self.record.cancelled_by:
            return False
        self._mtime = mtime
        theirs = state.load(on_disk)
        if not theirs.cancelled_by:
            return False
        self.record.cancelled_by, self.record.reason = theirs.cancelled_by, theirs.reason
        for t in self.record.tasks:
            mine = theirs.task(t.id)
            # the cancellation wins over a failure seen meanwhile (its jobs were being killed)
            if mine.state == State.CANCELLED.value and t.state != State.SUCCEEDED.value:
                t.state, t.reason = mine.state, mine.reason
        self.dirty = True
        return True


def work_dir(repo: Repository, infra: Infrastructure, run_id: str,
             transport: Transport | None) -> PurePosixPath:
    """The run's work dir on the infrastructure; relative roots are under the repository
    (local) or the user's home (remote; `~/...` when no transport is given to ask)."""
    root = infra.work_root
    if infra.kind == "local":
        base = Path(root).expanduser()
        return PurePosixPath(base if base.is_absolute() else Path(repo.root) / base) / run_id
    if not root.startswith("/") and transport is None:
        return PurePosixPath("~") / root.removeprefix("~/") / run_id
    if not root.startswith("/"):
        home = transport.run("cd && pwd").check("finding the home folder").stdout.strip()
        root = f"{home}/{root.removeprefix('~/').removeprefix('~')}"
    return PurePosixPath(root) / run_id


def _place(repo: Repository, infra: Infrastructure, run_id: str,
           work: PurePosixPath | None = None) -> Place:
    """A run's place on one infrastructure (its work dir found, or given when resuming)."""
    scheduler = for_infrastructure(infra)
    if work is None:
        work = work_dir(repo, infra, run_id, scheduler.transport)
    if infra.kind == "local":
        return Place(infra, scheduler, area.for_run(Path(work), work, None))
    stage = Path(repo.root) / ".mso" / "stage" / run_id / infra.name
    return Place(infra, scheduler, area.for_run(stage, work, scheduler.transport))


def create(repo: Repository, plan: RunPlan, git: dict) -> ActiveRun:
    """Write the record and the plan, then stage what every task needs; nothing starts here."""
    run_id = plan.new_run_id()
    results = Path(repo.root) / "results" / plan.experiment / run_id
    infra = plan.infrastructure
    record = RunRecord(
        run_id=run_id, experiment=plan.experiment, spec_hash=plan.spec_hash,
        application={"name": plan.application.name, "version": plan.application.version,
                     "image": plan.application.container.image if plan.application.container else None},
        infrastructure={"name": infra.name, "kind": infra.kind, "host": infra.host},
        tasks=[TaskRecord(t.id, t.step, t.index, plain(t.parameters), list(t.needs),
                          stdout=f"{t.id}/stdout.txt", stderr=f"{t.id}/stderr.txt")
               for t in plan.tasks],
        git=git, datasets=dict(plan.datasets))
    names = sorted({t.infrastructure for t in plan.tasks} | {infra.name})
    places = {n: _place(repo, repo.infrastructure(n), run_id) for n in names}
    record.work_dir = str(places[infra.name].area.root)
    run = ActiveRun(record, {t.id: t for t in plan.tasks}, results, places, plan.keep_workdir)
    run.save()
    write_atomic(results / PLAN, json.dumps({
        "keep_workdir": plan.keep_workdir, "infrastructure": infra.name,
        "work_dirs": {n: str(p.area.root) for n, p in places.items()},
        "tasks": [plain(t) for t in plan.tasks]}, indent=1))
    prepare(run, repo)
    return run


def prepare(run: ActiveRun, repo: Repository) -> None:
    """Stage inputs and job scripts of every pending task not yet prepared, then upload them."""
    for name, place in run.places.items():
        stage = place.area.stage
        todo = [t.id for t in run.tasks_on(name) if t.state == State.PENDING.value
                and not (stage / t.id / PREPARED).exists()]
        if todo:
            _stage(run, repo, place, todo)


def _stage(run: ActiveRun, repo: Repository, place: Place, todo: list[str]) -> None:
    stage = place.area.stage
    try:
        shared = {}
        for name in sorted({i.dataset for tid in todo for i in run.tasks[tid].inputs if i.dataset}):
            shared[name] = stagein.fetch(repo.datasets[name], repo, stage)
        for tid in todo:
            _prepare_task(run, repo, run.tasks[tid], shared)
        place.area.upload(todo)
        for tid in todo:
            (stage / tid / PREPARED).touch()
    except MsoError as exc:
        _fail_all(run, f"stage-in failed: {exc}")
        raise
    except OSError as exc:
        _fail_all(run, f"stage-in failed: {exc}")
        raise StagingError(f"{run.record.experiment}: preparing the work dir failed: {exc}") from None


def _prepare_task(run: ActiveRun, repo: Repository, task: TaskPlan, shared: dict[str, Path]) -> None:
    place = run.place(task.id)
    task_dir = place.area.stage / task.id
    (task_dir / script.META).mkdir(parents=True, exist_ok=True)
    app_files = Path(repo.root) / "applications" / task.application.split("@")[0]
    if app_files.is_dir():
        for src in app_files.rglob("*"):
            if not inside(src, Path(repo.root)):
                raise StagingError(f"{src} is a symlink that leaves the repository")
        shutil.copytree(app_files, task_dir, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for staged in task.inputs:
        if staged.dataset:
            stagein.place(staged, shared[staged.dataset], task_dir)
    # inputs from earlier steps are placed when the task starts (they do not exist yet)
    # a plain write: staged files are made again if a crash leaves one half-written
    (task_dir / script.SCRIPT).write_text(place.scheduler.render(run.job(task.id)))


def _fail_all(run: ActiveRun, reason: str) -> None:
    for t in run.record.tasks:
        t.move(State.FAILED, reason)
    run.record.reason = reason
    run.save()


def load(repo: Repository, results: Path, record: RunRecord) -> ActiveRun:
    """An unfinished run found in results/, with its tasks and places read back from its plan."""
    try:
        saved = json.loads((results / PLAN).read_text())
    except (OSError, ValueError):
        raise StateError(f"{results}/{PLAN} is missing or damaged, so the run cannot be resumed; "
                         f"`mso cancel {record.run_id}` closes it") from None
    tasks = {t["id"]: TaskPlan.from_plain(t) for t in saved["tasks"]}
    dirs = saved.get("work_dirs") or {saved["infrastructure"]: record.work_dir}
    places = {n: _place(repo, repo.infrastructure(n), record.run_id, PurePosixPath(w))
              for n, w in dirs.items()}
    return ActiveRun(record, tasks, results, places, saved["keep_workdir"])


def resume(repo: Repository, results: Path, record: RunRecord) -> ActiveRun:
    """Go on with an unfinished run: stage what was not staged yet, then watch."""
    run = load(repo, results, record)
    if record.state == State.PAUSED.value:
        record.state, record.reason = State.RUNNING.value, None
    prepare(run, repo)
    return run


def unfinished(repo: Repository, experiment: str) -> list[tuple[Path, RunRecord]]:
    results = Path(repo.root) / "results"
    return [(p, r) for p, r in state.records(results, experiment)
            if not State(r.state).terminal]


def cancel(run: ActiveRun, reason: str) -> None:
    """Stop every unfinished task's job wherever it runs, and mark the tasks cancelled."""
    live = [t for t in run.record.tasks if not State(t.state).terminal]
    stop(run, {t.id: t.job_id for t in live})
    for t in live:
        t.move(State.CANCELLED, reason)


def stop(run: ActiveRun, jobs: dict[str, str | None]) -> None:
    """Cancel these tasks' jobs (task id -> job id) at their schedulers."""
    for name, place in run.places.items():
        ids = [j for tid, j in jobs.items() if j and run.tasks[tid].infrastructure == name]
        if ids:
            place.scheduler.cancel(ids)


def remove_work_dirs(run: ActiveRun, discard: bool = False) -> None:
    """After every task ended: remove the work dirs unless asked to keep them or one holds
    outputs (`discard`: remove them whatever they hold, for a cancelled run)."""
    if not run.finished:
        return  # paused: the next `mso run` goes on from the work dir
    holds_outputs = any(o["stored"] == "workdir" for t in run.record.tasks for o in t.outputs)
    if discard or (not run.keep_workdir and not holds_outputs):
        for place in run.places.values():
            place.area.remove()
