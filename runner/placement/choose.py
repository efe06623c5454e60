"""Where the steps declared with candidate infrastructures run, for one new run.

Steps that share one list of candidates go together (a chain is not split between a cluster
and a cloud by itself). With `placement: auto` each candidate's completion is predicted
(runner/placement/predict.py) for the points that will run, and the soonest wins; a tie goes
to the one declared first. A candidate that cannot be predicted (its variables are not set,
its cluster or cloud does not answer) is left out, with why; when none can be, the first one
whose variables are set runs it. `placement: first` takes the first candidate, unpredicted. The
MSO_PLACEMENT variable, for one pipeline, overrides both: `auto`, `first`, or the name of a
candidate (predicted all the same, so the record shows what auto would have chosen).

The decisions, with every prediction and its inputs, go into run.json (RunRecord.placement).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from runner.cloud.api import CloudError
from runner.declarations.models import Experiment, Repository
from runner.errors import MsoError, SchedulerError, TransportError
from runner.placement import predict, words
from runner.placement.history import History
from runner.plan.resolve import RunPlan, TaskPlan, plan
from runner.secrets import unset
from runner.state import now

VARIABLE = "MSO_PLACEMENT"
MODES = ("auto", "first")
_CANNOT = (SchedulerError, TransportError, CloudError)


@dataclass(frozen=True)
class Choice:
    chosen: dict[tuple[str, ...], str]   # per list of candidates: where its steps run
    decisions: list[dict[str, Any]]      # for run.json


def groups(exp: Experiment) -> dict[tuple[str, ...], list[str]]:
    """The steps with candidates, by their list of candidates, in declared order."""
    out: dict[tuple[str, ...], list[str]] = {}
    for step in exp.steps:
        if step.candidates:
            out.setdefault(step.candidates, []).append(step.name)
    return out


def mode(exp: Experiment) -> tuple[str, str | None]:
    """The experiment's mode, or the variable's (`override` with the name it gives)."""
    given = os.environ.get(VARIABLE, "").strip()
    if not given:
        return exp.placement or "auto", None
    if given in MODES:
        return given, None
    return "override", given


def choose(ctx: Any, repo: Repository, exp: Experiment, tasks: Sequence[TaskPlan],
           results: Path, say: Callable[[str], None]) -> Choice:
    """Where each list of candidates runs the tasks (the points that will run); `say` gets
    each decision's line. Raises MsoError when MSO_PLACEMENT names no candidate."""
    how, named = mode(exp)
    past = History.of(results) if how != "first" else None
    chosen, decisions = {}, []
    for candidates, steps in groups(exp).items():
        todo = [t for t in tasks if t.step in steps]
        if how == "override" and named not in candidates:
            raise MsoError(f"{VARIABLE}={named}, but steps {', '.join(steps)} of {exp.name} "
                           f"can run only on {', '.join(candidates)}: name one of these, "
                           "`auto` or `first`")
        decision = {"steps": steps, "candidates": list(candidates), "mode": how,
                    "predicted_at": now(), "predictions": {}, "unpredicted": {}}
        if how == "first" or not todo:
            decision["chosen"] = _usable(repo, candidates)[0]
        else:   # overridden too: the record shows what auto would have chosen
            soonest = _soonest(ctx, repo, candidates, todo, past, decision)
            decision["chosen"] = named if how == "override" else soonest
        chosen[candidates] = decision["chosen"]
        if todo:
            decisions.append(decision)
            say(f"{exp.name}: placement: {words.line(decision)}")
    return Choice(chosen, decisions)


def placed(ctx: Any, repo: Repository, p: RunPlan, todo: set[str],
           say: Callable[[str], None]) -> tuple[RunPlan, list[dict[str, Any]]]:
    """The plan again with its candidates chosen for the tasks in `todo` (those that will run,
    by id), and the decisions; the plan as it was when it has no candidates or nothing runs."""
    exp = repo.experiments[p.experiment]
    if not todo or not groups(exp):
        return p, []
    choice = choose(ctx, repo, exp, [t for t in p.tasks if t.id in todo],
                    Path(repo.root) / "results", say)
    return plan(repo, exp, choice.chosen), choice.decisions


def recorded(record: Any) -> dict[tuple[str, ...], str]:
    """A run's choices, per list of candidates (a RunRecord's placement): `mso rerun` places
    its steps where the run it repeats went."""
    return {tuple(d["candidates"]): d["chosen"] for d in record.placement}


def _soonest(ctx: Any, repo: Repository, candidates: tuple[str, ...], todo: list[TaskPlan],
             past: History, decision: dict) -> str:
    """Predicts each candidate into the decision; the soonest (the first of equals)."""
    for name in candidates:
        infra = repo.infrastructure(name)
        missing = unset(infra)
        if missing:
            decision["unpredicted"][name] = f"{', '.join(sorted(missing))} not set"
            continue
        try:
            decision["predictions"][name] = predict.predict(ctx, repo, infra, todo, past).plain()
        except _CANNOT as exc:
            decision["unpredicted"][name] = str(exc).splitlines()[0] if str(exc) else repr(exc)
    predicted = decision["predictions"]
    if not predicted:
        return _usable(repo, candidates)[0]
    return min(predicted, key=lambda n: (predicted[n]["total"], candidates.index(n)))


def _usable(repo: Repository, candidates: tuple[str, ...]) -> list[str]:
    """The candidates whose variables are set (all of them when none is: the run then says
    which are missing, as it would for one infrastructure)."""
    return [n for n in candidates if not unset(repo.infrastructure(n))] or list(candidates)
