"""Resolve an experiment into a frozen run plan: tasks, their command lines and the spec hash."""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping

from runner.errors import SpecError, Location
from runner.declarations import datacheck, manifest, matrix
from runner.declarations.construct import split_ref
from runner.declarations.models import (EMPTY, Application, Dataset, Experiment, Infrastructure, InputBinding,
                                LogFilter, LogSpec, Repository, Resources, ResultFile, Step,
                                freeze)
from runner.plan import identity, spec


@dataclass(frozen=True)
class StagedInput:
    """One input of a task: where it comes from and where it lands in the work dir."""

    name: str
    target: str                       # path relative to the task's work dir
    dataset: str | None = None        # from a dataset ...
    step_task: str | None = None      # ... or from an earlier task's work dir
    step_path: str | None = None
    same_place: bool = False          # that task ran on the same infrastructure: the job copies it


@dataclass(frozen=True)
class TaskPlan:
    id: str
    step: str
    index: int
    application: str
    infrastructure: str
    parameters: Mapping[str, Any]
    argv: tuple[str, ...]
    needs: tuple[str, ...] = ()
    inputs: tuple[StagedInput, ...] = ()
    outputs: tuple[str, ...] = ()
    logs: tuple[LogSpec, ...] = ()
    expected_steps: int | None = None
    environment: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    resources: Resources = Resources()
    identity: str = ""            # runner/plan/identity.py: what determines its result
    results: tuple[ResultFile, ...] = ()   # the files its metrics are read from
    candidates: tuple[str, ...] = ()   # its step's candidate infrastructures (one was chosen)

    @staticmethod
    def from_plain(d: dict[str, Any]) -> "TaskPlan":
        d = dict(d)
        d["inputs"] = tuple(StagedInput(**i) for i in d["inputs"])
        d["logs"] = tuple(LogSpec(lg["path"], tuple(LogFilter(**f) for f in lg["filters"]))
                          for lg in d["logs"])
        res = dict(d["resources"])
        d["resources"] = Resources(**{**res, "slurm": freeze(res["slurm"]), "pbs": freeze(res["pbs"])})
        for key in ("argv", "needs", "outputs"):
            d[key] = tuple(d[key])
        d["candidates"] = tuple(d.get("candidates", ()))   # a plan.json written before them
        # a plan.json written before results were collected has none
        d["results"] = tuple(ResultFile(r["file"], tuple(r["fields"])) for r in d.get("results", ()))
        return TaskPlan(**{**d, "parameters": freeze(d["parameters"]),
                           "environment": freeze(d["environment"])})


@dataclass(frozen=True)
class RunPlan:
    experiment: str
    spec_hash: str
    application: Application
    infrastructure: Infrastructure
    tasks: tuple[TaskPlan, ...]
    datasets: Mapping[str, str | None]
    keep_workdir: bool = False
    spec: Mapping[str, Any] = field(default_factory=dict, compare=False)   # spec.snapshot

    def new_run_id(self) -> str:
        """`<UTC time>-<spec hash[:8]>-<8 random hex>`: sorts by time; the random part keeps
        runs of one spec started in the same second on any machines (clones, a retried CI job)
        apart (two of five such runs share it with odds of about 1 in 400 million)."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        return f"{stamp}-{self.spec_hash[:8]}-{secrets.token_hex(4)}"


def plan(repo: Repository, exp: Experiment,
         chosen: Mapping[tuple[str, ...], str] | None = None) -> RunPlan:
    """The frozen plan of one experiment (the repository is already valid). `chosen`: for each
    list of candidate infrastructures, the one runner/placement/ chose (else the first)."""
    tasks = []
    points = matrix.points(exp)
    places = {s.name: place(s, chosen) for s in exp.steps}
    for step in exp.steps:
        shared = _shared(exp, step, repo.applications[step.application])
        for i, point in enumerate(points):
            tasks.append(_task(exp, shared, i, point, repo.datasets, places))
    infra = repo.infrastructure((chosen or {}).get(exp.candidates, exp.infrastructure))
    datasets = _datasets(repo, tasks)
    snap = spec.snapshot(repo, exp, {split_ref(t.application)[0] for t in tasks},
                         {p for s in exp.steps for p in s.places}, datasets)
    keep = exp.keep_workdir if exp.keep_workdir is not None else infra.keep_workdir
    return RunPlan(exp.name, spec.digest(snap), repo.applications[exp.application], infra,
                   identity.assign(tasks, snap), freeze(datasets), keep, snap)


def place(step: Step, chosen: Mapping[tuple[str, ...], str] | None) -> str:
    """Where the step runs: the choice made for its candidates, else its infrastructure."""
    return (chosen or {}).get(step.candidates, step.infrastructure) if step.candidates \
        else step.infrastructure


def task_id(step: str, index: int) -> str:
    return f"{step}-{index:04d}"


@dataclass(frozen=True)
class _Shared:
    """What every task of one step shares: its application, input bindings and resources."""

    step: Step
    app: Application
    bound: tuple[tuple[str, InputBinding], ...]   # sorted by input name
    resources: Resources


def _shared(exp: Experiment, step: Step, app: Application) -> _Shared:
    base = exp.resources if exp.applies_to(step) else Resources()
    return _Shared(step, app, tuple(sorted(exp.bindings(step).items())),
                   step.resources.over(base).over(app.resources))


def _task(exp: Experiment, shared: _Shared, index: int, point: dict,
          datasets: Mapping[str, Dataset], places: Mapping[str, str]) -> TaskPlan:
    step, app = shared.step, shared.app
    params = matrix.step_parameters(exp, step, app, point)
    inputs = tuple(_staged(name, b, index, datasets, places, places[step.name])
                   for name, b in shared.bound)
    argv = render_argv(app.command, params, {i.name: i.target for i in inputs}, exp.path)
    return TaskPlan(
        id=task_id(step.name, index), step=step.name, index=index, application=app.ref,
        infrastructure=places[step.name], candidates=step.candidates,
        parameters=freeze(params), argv=argv,
        needs=tuple(task_id(n, index) for n in step.needs), inputs=inputs, outputs=app.outputs,
        logs=app.logs, expected_steps=app.expected_steps, environment=app.environment,
        resources=shared.resources, results=app.results)


def _staged(name: str, binding, index: int, datasets: Mapping[str, Dataset],
            places: Mapping[str, str], here: str) -> StagedInput:
    if binding.dataset is not None:
        location = datasets[binding.dataset].location
        base = location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        target = f"inputs/{name}" if location.endswith("/") or not base else f"inputs/{name}/{base}"
        return StagedInput(name, target, dataset=binding.dataset)
    base = binding.path.rstrip("/").rsplit("/", 1)[-1]
    return StagedInput(name, f"inputs/{name}/{base}", step_task=task_id(binding.step, index),
                       step_path=binding.path, same_place=places.get(binding.step) == here)


class _ArgFormatter(string.Formatter):
    """Formats parameter values as a command line expects: true/false, no repr quirks."""

    def format_field(self, value: Any, spec: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return ""
        return super().format_field(value, spec)


def render_argv(command: tuple[str, ...], params: Mapping[str, Any], inputs: Mapping[str, str],
                where: str) -> tuple[str, ...]:
    """Fill `{param}` and `{inputs.NAME}` placeholders; each element stays one argument."""
    ns = SimpleNamespace(**inputs)
    fmt = _ArgFormatter()
    try:
        return tuple(fmt.format(arg, inputs=ns, **params) if "{" in arg or "}" in arg else arg
                     for arg in command)
    except (KeyError, AttributeError) as exc:
        raise SpecError(Location(where), f"the command names {exc} but no value is given",
                        "bind the input or give the parameter") from None


def _datasets(repo: Repository, tasks: list[TaskPlan]) -> dict[str, str | None]:
    """Each input dataset's content hash: a folder's manifest hash, a file's sha256, else (a
    repository path with neither) the hash of its data as it is now; None when unknown."""
    names = sorted({i.dataset for t in tasks for i in t.inputs if i.dataset})
    return {n: manifest.content_id(repo.datasets[n]) or _content_hash(repo, n) for n in names}


def _content_hash(repo: Repository, name: str) -> str | None:
    ds = repo.datasets[name]
    if not ds.in_repository or ds.manifest is not None:
        return None
    return datacheck.content_hash(Path(repo.root), ds.location)
