"""What happens to a finished task's outputs beyond results/: the large ones uploaded to the
experiment's `outputs.remote` and verified (runner/data/stageout.py), and, when the run ends,
its catalogue entries written (`publish_outputs`: runner/data/publish.py)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from runner.data import publish, stageout
from runner.declarations.models import Experiment
from runner.runs.active import ActiveRun
from runner.state import State, TaskRecord

SCRATCH = Path(".mso") / "stageout"   # under the repository: relayed outputs wait here


def stage_out(r: ActiveRun, t: TaskRecord, entries: list[dict]) -> str | None:
    """Upload the task's outputs left in the work dir, when the experiment names a remote for
    them; why they were not all saved (None when they were, or when there is no remote)."""
    exp = _experiment(r)
    if exp is None or exp.outputs is None or not any(e["stored"] == "workdir" for e in entries):
        return None
    place = r.place(t.id)
    transport = getattr(place.area, "transport", None)
    source = stageout.Source(place.area.task_dir(t.id), transport,
                             place.infra.data_access == "direct", Path(r.repo.root) / SCRATCH)
    target = stageout.Target.of(exp.outputs, exp.path)
    run_id = r.record.run_id
    problems = stageout.store(entries, source, target, run_id, t.id)
    if not problems:   # the small ones too, so that the task's folder there is whole
        here = stageout.Source(PurePosixPath(r.results / t.id))
        problems = stageout.store(entries, here, target, run_id, t.id, kind="results")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"outputs not saved to the remote: {problems[0]}{more}; they stay in the work dir"
    saved = sum(e["stored"] == "remote" for e in entries)
    r.listen(r, t, f"{saved} large output{'s' * (saved != 1)} saved to the outputs remote "
                   "(sha256 checked there)")
    return None


def publish_ended(r: ActiveRun) -> None:
    """A run that ended in success writes its catalogue entries (`publish_outputs: true`)."""
    exp = _experiment(r)
    if exp is None or not exp.publish_outputs or r.record.published or not r.finished:
        return
    if r.record.derive_state() != State.SUCCEEDED:
        return
    names = publish.publish(r.repo, exp, r.record)
    if names:
        r.record.published = names
        r.dirty = True
        r.listen(r, r.record.tasks[0], "published as " + ", ".join(names))


def _experiment(r: ActiveRun) -> Experiment | None:
    """The run's experiment as declared (None for a run built without its declarations)."""
    return r.repo.experiments.get(r.record.experiment) if r.repo is not None else None
