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
from runner.spec.models import Repository, plain
from runner.staging import stagein
from runner.state import RunRecord, State, TaskRecord

PLAN = "plan.json"


@dataclass
class ActiveRun:
    """A run being executed or watched: its record, its tasks and where things live."""

    record: RunRecord
    tasks: dict[str, TaskPlan]
    results: Path               # results/<experiment>/<run-id>
    work: Path                  # <work root>/<run-id>
    scheduler: Scheduler
    keep_workdir: bool = False
    dirty: bool = field(default=False, repr=False)
    _mtime: int = field(default=0, repr=False)

    def job(self, task_id: str) -> Job:
        return Job(self.tasks[task_id], f"mso.{self.record.run_id}.{task_id}",
                   PurePosixPath(self.work / task_id))

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


def work_root(repo: Repository, plan: RunPlan) -> Path:
    root = Path(plan.infrastructure.work_root).expanduser()
    return root if root.is_absolute() else Path(repo.root) / root


def create(repo: Repository, plan: RunPlan, git: dict) -> ActiveRun:
    """Write the record, then stage everything every task needs; no task is started here."""
    run_id = plan.new_run_id()
    results = Path(repo.root) / "results" / plan.experiment / run_id
    record = RunRecord(
        run_id=run_id, experiment=plan.experiment, spec_hash=plan.spec_hash,
        application={"name": plan.application.name, "version": plan.application.version,
                     "image": plan.application.container.image if plan.application.container else None},
        infrastructure={"name": plan.infrastructure.name, "kind": plan.infrastructure.kind,
                        "host": plan.infrastructure.host},
        tasks=[TaskRecord(t.id, t.step, t.index, plain(t.parameters), list(t.needs),
                          stdout=f"{t.id}/stdout.txt", stderr=f"{t.id}/stderr.txt")
               for t in plan.tasks],
        git=git, datasets=dict(plan.datasets))
    work = work_root(repo, plan) / run_id
    record.work_dir = str(work)
    run = ActiveRun(record, {t.id: t for t in plan.tasks}, results, work,
                    for_infrastructure(plan.infrastructure), plan.keep_workdir)
    run.save()
    work.mkdir(parents=True, exist_ok=True)
    write_atomic(work / PLAN, json.dumps({"keep_workdir": plan.keep_workdir,
                                          "infrastructure": plan.infrastructure.name,
                                          "tasks": [plain(t) for t in plan.tasks]}, indent=1))
    prepare(run, repo)
    return run


def prepare(run: ActiveRun, repo: Repository) -> None:
    """Stage inputs and write job scripts for every pending task that has none yet (idempotent)."""
    todo = [t for t in run.record.tasks if t.state == State.PENDING.value
            and not (run.work / t.id / script.SCRIPT).exists()]
    if not todo:
        return
    try:
        shared = {}
        for name in sorted({i.dataset for t in todo for i in run.tasks[t.id].inputs if i.dataset}):
            shared[name] = stagein.fetch(repo.datasets[name], repo, run.work)
        for t in todo:
            _prepare_task(run, repo, run.tasks[t.id], shared)
    except MsoError as exc:
        _fail_all(run, f"stage-in failed: {exc}")
        raise
    except OSError as exc:
        _fail_all(run, f"stage-in failed: {exc}")
        raise StagingError(f"{run.record.experiment}: preparing the work dir failed: {exc}") from None


def _prepare_task(run: ActiveRun, repo: Repository, task: TaskPlan, shared: dict[str, Path]) -> None:
    task_dir = run.work / task.id
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
    job = run.job(task.id)
    write_atomic(task_dir / script.SCRIPT, run.scheduler.render(job))


def _fail_all(run: ActiveRun, reason: str) -> None:
    for t in run.record.tasks:
        t.move(State.FAILED, reason)
    run.record.reason = reason
    run.save()


def resume(repo: Repository, results: Path, record: RunRecord) -> ActiveRun:
    """An unfinished run found in results/, with its tasks read back from its work dir."""
    work = Path(record.work_dir)
    try:
        saved = json.loads((work / PLAN).read_text())
    except (OSError, ValueError):
        raise StateError(f"{results}/run.json: the run's work dir {work} is gone or damaged; "
                         f"`mso cancel {record.experiment}` closes the run") from None
    infra = repo.infrastructure(saved["infrastructure"])
    tasks = {t["id"]: TaskPlan.from_plain(t) for t in saved["tasks"]}
    run = ActiveRun(record, tasks, results, work, for_infrastructure(infra), saved["keep_workdir"])
    if record.state == State.PAUSED.value:
        record.state, record.reason = State.RUNNING.value, None
    prepare(run, repo)
    return run


def unfinished(repo: Repository, experiment: str) -> list[tuple[Path, RunRecord]]:
    results = Path(repo.root) / "results"
    return [(p, r) for p, r in state.records(results, experiment)
            if not State(r.state).terminal]


def remove_work(record: RunRecord) -> None:
    """Remove a cancelled run's work dir (nothing in it will be collected)."""
    if record.work_dir:
        shutil.rmtree(record.work_dir, ignore_errors=True)


def finish(run: ActiveRun) -> None:
    """After every task ended: remove work dirs unless asked to keep them or they hold outputs."""
    if run.keep_workdir:
        return
    keep = {t.id for t in run.record.tasks if any(o["stored"] == "workdir" for o in t.outputs)}
    for t in run.record.tasks:
        if t.id not in keep:
            shutil.rmtree(run.work / t.id, ignore_errors=True)
    if not keep:
        shutil.rmtree(run.work, ignore_errors=True)
