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


@dataclass
class ActiveRun:
    """A run being executed or watched: its record, its tasks and where things live."""

    record: RunRecord
    tasks: dict[str, TaskPlan]
    results: Path               # results/<experiment>/<run-id>
    area: WorkArea              # <work root>/<run-id> on the infrastructure, and its local stage
    scheduler: Scheduler
    keep_workdir: bool = False
    dirty: bool = field(default=False, repr=False)
    _mtime: int = field(default=0, repr=False)

    def job(self, task_id: str) -> Job:
        return Job(self.tasks[task_id], f"mso.{self.record.run_id}.{task_id}",
                   self.area.task_dir(task_id))

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
            t.move(State.CANCELLED, theirs.task(t.id).reason)
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


def _area(repo: Repository, infra: Infrastructure, scheduler: Scheduler,
          work: PurePosixPath, run_id: str) -> WorkArea:
    if infra.kind == "local":
        return area.for_run(Path(work), work, None)
    return area.for_run(Path(repo.root) / ".mso" / "stage" / run_id, work, scheduler.transport)


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
    scheduler = for_infrastructure(infra)
    work = work_dir(repo, infra, run_id, scheduler.transport)
    record.work_dir = str(work)
    run = ActiveRun(record, {t.id: t for t in plan.tasks}, results,
                    _area(repo, infra, scheduler, work, run_id), scheduler, plan.keep_workdir)
    run.save()
    write_atomic(results / PLAN, json.dumps({"keep_workdir": plan.keep_workdir,
                                             "infrastructure": infra.name,
                                             "tasks": [plain(t) for t in plan.tasks]}, indent=1))
    prepare(run, repo)
    return run


def prepare(run: ActiveRun, repo: Repository) -> None:
    """Stage inputs and job scripts of every pending task not yet prepared, then upload them."""
    stage = run.area.stage
    todo = [t.id for t in run.record.tasks if t.state == State.PENDING.value
            and not (stage / t.id / PREPARED).exists()]
    if not todo:
        return
    try:
        shared = {}
        for name in sorted({i.dataset for tid in todo for i in run.tasks[tid].inputs if i.dataset}):
            shared[name] = stagein.fetch(repo.datasets[name], repo, stage)
        for tid in todo:
            _prepare_task(run, repo, run.tasks[tid], shared)
        run.area.upload(todo)
        for tid in todo:
            (stage / tid / PREPARED).touch()
    except MsoError as exc:
        _fail_all(run, f"stage-in failed: {exc}")
        raise
    except OSError as exc:
        _fail_all(run, f"stage-in failed: {exc}")
        raise StagingError(f"{run.record.experiment}: preparing the work dir failed: {exc}") from None


def _prepare_task(run: ActiveRun, repo: Repository, task: TaskPlan, shared: dict[str, Path]) -> None:
    task_dir = run.area.stage / task.id
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
    write_atomic(task_dir / script.SCRIPT, run.scheduler.render(run.job(task.id)))


def _fail_all(run: ActiveRun, reason: str) -> None:
    for t in run.record.tasks:
        t.move(State.FAILED, reason)
    run.record.reason = reason
    run.save()


def resume(repo: Repository, results: Path, record: RunRecord) -> ActiveRun:
    """An unfinished run found in results/, with its tasks read back from its plan."""
    try:
        saved = json.loads((results / PLAN).read_text())
    except (OSError, ValueError):
        raise StateError(f"{results}/{PLAN} is missing or damaged, so the run cannot be resumed; "
                         f"`mso cancel {record.run_id}` closes it") from None
    infra = repo.infrastructure(saved["infrastructure"])
    tasks = {t["id"]: TaskPlan.from_plain(t) for t in saved["tasks"]}
    scheduler = for_infrastructure(infra)
    work = PurePosixPath(record.work_dir)
    run = ActiveRun(record, tasks, results, _area(repo, infra, scheduler, work, record.run_id),
                    scheduler, saved["keep_workdir"])
    if record.state == State.PAUSED.value:
        record.state, record.reason = State.RUNNING.value, None
    prepare(run, repo)
    return run


def unfinished(repo: Repository, experiment: str) -> list[tuple[Path, RunRecord]]:
    results = Path(repo.root) / "results"
    return [(p, r) for p, r in state.records(results, experiment)
            if not State(r.state).terminal]


def discard(repo: Repository, record: RunRecord) -> None:
    """Remove a cancelled run's work dir (nothing in it will be collected)."""
    infra = repo.infrastructure(record.infrastructure["name"])
    scheduler = for_infrastructure(infra)
    _area(repo, infra, scheduler, PurePosixPath(record.work_dir), record.run_id).remove()


def finish(run: ActiveRun) -> None:
    """After every task ended: remove the work dir unless asked to keep it or it holds outputs."""
    if not all(State(t.state).terminal for t in run.record.tasks):
        return  # paused: the next `mso run` goes on from the work dir
    holds_outputs = any(o["stored"] == "workdir" for t in run.record.tasks for o in t.outputs)
    if not run.keep_workdir and not holds_outputs:
        run.area.remove()
