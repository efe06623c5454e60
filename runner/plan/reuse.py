"""Per-point reuse: which tasks of a plan already succeeded, with the same identity, in an earlier
recorded run of the experiment (reused: not run again), which failed before, and which are new.

A task that runs makes the tasks it needs run too: its inputs come from their work dirs, and a
reused task has none. Resume after a crash is not this: an unfinished run goes on as recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from runner.state import RunRecord, State, TaskRecord

DEFAULT, FORCE, FAILED_ONLY = "reuse", "force", "failed"   # how `mso run` treats earlier results


@dataclass(frozen=True)
class Source:
    """A task that succeeded in an earlier run, whose result a new task takes over."""

    run: str                            # the run it ran in (the first, when it was reused too)
    task: str
    record: TaskRecord
    folder: Path                        # results/<exp>/<run>/<task> of the run it is read from
    images: dict[tuple[str, str], str]  # (infrastructure, application) -> digest it ran in
                                        # (its first run's: where it really ran)


@dataclass
class History:
    """An experiment's recorded tasks by identity: the latest success of each, and those that
    only ever failed or were cancelled."""

    succeeded: dict[str, Source] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)


@dataclass
class Decision:
    """What a run of the plan does with each task."""

    reused: dict[str, Source] = field(default_factory=dict)   # task id -> where its result is
    new: list[str] = field(default_factory=list)
    failed_before: list[str] = field(default_factory=list)
    rerun: list[str] = field(default_factory=list)   # succeeded before, but forced or needed

    @property
    def runs(self) -> list[str]:
        return [*self.new, *self.failed_before, *self.rerun]

    def image_changed(self, tids: set[str]) -> None:
        """These were to be reused, but their image's digest is not the one they ran in."""
        for tid in tids:
            del self.reused[tid]
        self.rerun += sorted(tids)

    def counts(self) -> str:
        return (f"{len(self.new)} new, {len(self.reused)} reused, "
                f"{len(self.failed_before)} failed before" +
                (f", {len(self.rerun)} succeeded before and rerun" if self.rerun else ""))

    def as_json(self) -> dict:
        return {"new": len(self.new), "reused": len(self.reused),
                "failed_before": len(self.failed_before), "rerun": len(self.rerun)}


def history(runs: list[tuple[Path, RunRecord]]) -> History:
    """Every recorded task of an experiment's runs (state.records) with an identity, newest
    success winning."""
    out = History()
    images: dict[str, dict] = {}   # run id -> the digests its tasks ran in
    for folder, record in runs:
        images[record.run_id] = {(i["infrastructure"], i["application"]): i["digest"]
                                 for i in record.images}
        for t in record.tasks:
            if not t.identity or "/" in t.id or t.id.startswith("."):   # a record is user input
                continue
            if t.state == State.SUCCEEDED:
                origin = t.reused or {"run": record.run_id, "task": t.id}
                out.succeeded[t.identity] = Source(origin["run"], origin["task"], t,
                                                   folder / t.id, images.get(origin["run"], {}))
            elif t.state in (State.FAILED, State.CANCELLED):
                out.failed.add(t.identity)
    out.failed -= set(out.succeeded)
    return out


def decide(tasks, past: History, mode: str = DEFAULT) -> Decision:
    """Per task (TaskPlan, in plan order): reused, new or failed before. FORCE reuses nothing."""
    found = {} if mode == FORCE else {t.id: past.succeeded[t.identity] for t in tasks
                                      if t.identity in past.succeeded}
    by_id = {t.id: t for t in tasks}
    running = [t.id for t in tasks if t.id not in found]
    while running:   # what a running task needs runs too
        needs = {n for tid in running for n in by_id[tid].needs if n in found}
        for n in needs:
            del found[n]
        running = needs
    out = Decision(reused=found)
    for t in tasks:
        if t.id in found:
            continue
        if t.identity in past.succeeded:
            out.rerun.append(t.id)
        elif t.identity in past.failed:
            out.failed_before.append(t.id)
        else:
            out.new.append(t.id)
    return out
