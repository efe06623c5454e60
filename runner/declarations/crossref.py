"""Checks across files: references resolve, parameters fit, paths stay inside, `needs` has no cycle."""

from __future__ import annotations

import graphlib
import os
from collections.abc import Collection, Mapping
from typing import Iterator

from runner.errors import SpecError
from runner.declarations import (appcheck, datarules, logfilters, matrix, parameters, resultcheck,
                                 scheduler_options)
from runner.declarations.messages import unique
from runner.declarations.models import (Application, Dataset, Experiment, Infrastructure, Repository,
                                        Step, is_repo_path, plain)
from runner.declarations.paths import links_out, outside, unsafe_path
from runner.declarations.schema import UserSchema, did_you_mean, user_schema
from runner.declarations.yamlload import Document

__all__ = ["check", "unsafe_path", "warnings"]


def check(repo: Repository, docs: Mapping[str, Document],
          broken: Mapping[str, set[str]] | None = None,
          only: Collection[str] | None = None) -> list[SpecError]:
    """All cross-file errors; `docs` maps each declaration's display path to its document.

    `broken` names, per kind, declarations that exist but failed their own checks: a reference
    to one is not reported again (its file's errors say what is wrong). `only`: check just the
    declarations of these files (the others are still there to be referred to).
    """
    ctx = _Context(repo, broken or {})
    mine = (lambda record: True) if only is None else (lambda record: record.path in only)
    errors: list[SpecError] = []
    for app in filter(mine, repo.applications.values()):
        errors += _application(app, docs[app.path], ctx)
    for ds in filter(mine, repo.datasets.values()):
        errors += _dataset(ds, docs[ds.path], repo.root)
        errors += datarules.dataset(ds, docs[ds.path], repo)
    for infra in filter(mine, repo.infrastructures.values()):
        errors += _volumes(infra, docs[infra.path])
    for exp in filter(mine, repo.experiments.values()):
        errors += list(_experiment(exp, ctx, docs[exp.path]))
        errors += datarules.experiment(exp, docs[exp.path])
    errors += resultcheck.check(repo, docs, mine)
    return errors


class _Context:
    """The repository, the names of broken declarations and each application's parameter schema."""

    def __init__(self, repo: Repository, broken: Mapping[str, set[str]]) -> None:
        self.repo, self.broken = repo, broken
        self._schemas: dict[str, UserSchema] = {}

    def parameters(self, app: Application) -> UserSchema:
        if app.name not in self._schemas:
            self._schemas[app.name] = user_schema(plain(app.parameters))
        return self._schemas[app.name]


# --- applications --------------------------------------------------------------------------------

def _application(app: Application, doc: Document, ctx: _Context) -> list[SpecError]:
    params = ctx.parameters(app)
    if params.invalid:
        errors = params.problems(doc, ("parameters",))
    else:
        errors = parameters.defaults(params, doc)
    for i, glob in enumerate(app.outputs):
        if why := unsafe_path(glob):
            errors.append(SpecError(doc.where(("outputs", i)),
                                    f"output {glob!r} escapes the run directory: {why}",
                                    "outputs are relative to the task's work dir"))
    errors += logfilters.problems(app.logs, doc)
    errors += appcheck.placeholders(app, doc)
    errors += appcheck.container(app, doc, ctx.repo.root)
    errors += appcheck.folder_links(app, doc, ctx.repo.root)
    return errors


# --- infrastructures ----------------------------------------------------------------------------

def _volumes(infra: Infrastructure, doc: Document) -> list[SpecError]:
    """ch-run (Charliecloud 0.31) binds read-write only: a read-only volume would not be one."""
    if infra.container_runtime != "charliecloud":
        return []
    return [SpecError(doc.where(("volumes", i)), f"{v!r}: charliecloud binds read-write only",
                      "drop `:ro`, or use apptainer, singularity or podman")
            for i, v in enumerate(infra.volumes) if v.endswith(":ro")]


def warnings(repo: Repository) -> list[str]:
    """What is valid but worth saying: an application with a container that runs on an
    infrastructure with `container_runtime: none` (its tasks use the host's environment), and
    the catalogue's warnings (datarules.warnings)."""
    found = []
    for exp in sorted(repo.experiments.values(), key=lambda e: e.path):
        for step, place in ((s, p) for s in exp.steps for p in s.places):
            app = repo.applications.get(step.application)
            if app is None or app.container is None or place not in {"local", *repo.infrastructures}:
                continue
            if repo.infrastructure(place).container_runtime == "none":
                found.append(f"{exp.path}: warning: {app.name} declares a container, but "
                             f"infrastructure '{place}' has container_runtime: none, "
                             "so its tasks run in the host's environment (its python, its "
                             "libraries), not in the image")
    return list(dict.fromkeys(found + datarules.warnings(repo)))


# --- datasets ------------------------------------------------------------------------------------

def _dataset(ds: Dataset, doc: Document, root: str) -> list[SpecError]:
    """A dataset kept in the repository is there, and no symlink leads out of it."""
    location = ds.location
    if not is_repo_path(location):
        return []
    where = doc.where(("location",))
    if why := unsafe_path(location):
        return [SpecError(where, f"location {location!r} leaves the repository: {why}")]
    if why := outside(root, location):
        hint = ("commit the file or give a URL or an rclone remote" if why == "does not exist"
                else "copy the data into the repository or give a URL or an rclone remote")
        return [SpecError(where, f"{location!r} {why}", hint)]
    return [SpecError(where, f"{os.path.relpath(link, root)} {why}",
                      "datasets are copied with their links followed")
            for link, why in links_out(os.path.join(root, location), root)]


# --- experiments ---------------------------------------------------------------------------------

def _experiment(exp: Experiment, ctx: _Context, doc: Document) -> Iterator[SpecError]:
    repo = ctx.repo
    app = repo.applications.get(exp.application)
    if app is None:
        if exp.application not in ctx.broken.get("application", ()):
            yield _unknown(doc, ("application",), "application", exp.application,
                           repo.applications)
        return
    if exp.application_version and exp.application_version != app.version:
        yield SpecError(doc.where(("application",)),
                        f"{exp.application}@{exp.application_version} is not declared: "
                        f"{app.path} has version {app.version}",
                        f"write `application: {app.name}@{app.version}`")
    yield from _steps(exp, ctx, doc)
    if "placement" in doc.data and not any(s.candidates for s in exp.steps):
        yield SpecError(doc.where(("placement",)), "placement chooses among a list of "
                        "infrastructures, and no step has one",
                        "write `infrastructure: [cluster, cloud]`, or remove `placement`")
    yield from _matrix(exp, repo, doc)
    yield from parameters.unsafe_values(exp, doc)
    yield from scheduler_options.check_experiment(exp, repo, doc)


def _unknown(doc: Document, keys: tuple, kind: str, name: str, known: Mapping) -> SpecError:
    return SpecError(doc.where(keys), f"unknown {kind} '{name}'",
                     did_you_mean(name, sorted(known), f"declared {kind}s"))


def _steps(exp: Experiment, ctx: _Context, doc: Document) -> Iterator[SpecError]:
    repo = ctx.repo
    names = [s.name for s in exp.steps]
    graph: dict[str, tuple[str, ...]] = {}
    for i, step in enumerate(exp.steps):
        if names.index(step.name) != i:
            yield SpecError(doc.where(("steps", i, "name")), f"step '{step.name}' is declared twice")
        for need in step.needs:
            if need not in names:
                yield SpecError(doc.where(("steps", i, "needs")), f"unknown step '{need}'",
                                did_you_mean(need, names, "steps"))
        graph[step.name] = tuple(n for n in step.needs if n in names)
        yield from _places(step, i, ctx, doc)
        app = repo.applications.get(step.application)
        if app is None:
            if step.application not in ctx.broken.get("application", ()):
                yield _unknown(doc, ("steps", i, "application"), "application", step.application,
                               repo.applications)
            continue
        yield from _inputs(exp, step, i, app, ctx, doc)
        yield from parameters.check_step(exp, step, i, app, ctx.parameters(app), doc)
    yield from _cycle(graph, names, doc)


def _places(step: Step, i: int, ctx: _Context, doc: Document) -> Iterator[SpecError]:
    """Each infrastructure the step may run on is declared (or the built-in `local`)."""
    key = ("steps", i, "infrastructure") if "infrastructure" in _raw_step(doc, i) \
        else ("infrastructure",)
    for k, infra in enumerate(step.places):
        if infra != "local" and infra not in ctx.repo.infrastructures \
                and infra not in ctx.broken.get("infrastructure", ()):
            yield _unknown(doc, key + ((k,) if step.candidates else ()), "infrastructure", infra,
                           ctx.repo.infrastructures)


def _raw_step(doc: Document, i: int) -> Mapping:
    steps = doc.data.get("steps")
    return steps[i] if isinstance(steps, list) and i < len(steps) else {}


def _cycle(graph: dict[str, tuple[str, ...]], names: list[str], doc: Document) -> Iterator[SpecError]:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = list(reversed(exc.args[1]))  # graphlib lists it in the order steps would run
        start = min(range(len(cycle) - 1), key=lambda j: names.index(cycle[j]))
        cycle = cycle[start:-1] + cycle[:start + 1]
        said = ", ".join(f"{a} needs {b}" for a, b in zip(cycle, cycle[1:]))
        yield SpecError(doc.where(("steps", names.index(cycle[0]), "needs")),
                        f"the steps' `needs` form a cycle: {said}", "remove one of these needs")


def _inputs(exp: Experiment, step: Step, i: int, app: Application, ctx: _Context,
            doc: Document) -> Iterator[SpecError]:
    repo = ctx.repo
    bound = exp.bindings(step)
    for name, binding in bound.items():
        in_step = name in step.inputs and not exp.implicit
        keys = ("steps", i, "inputs", name) if in_step else ("inputs", name)
        if name not in app.inputs:
            yield SpecError(doc.where(keys, on_key=True), f"{app.name} has no input '{name}'",
                            did_you_mean(name, list(app.inputs), "inputs"))
        elif binding.dataset is not None and binding.dataset not in repo.datasets:
            if binding.dataset not in ctx.broken.get("dataset", ()):
                yield _unknown(doc, keys, "dataset", binding.dataset, repo.datasets)
        elif binding.step is not None:
            if binding.step not in _upstream(exp, step):
                yield SpecError(doc.where(keys + ("step",)), f"step '{binding.step}' is not among "
                                f"the steps '{step.name}' needs", "add it to `needs`")
            if why := unsafe_path(binding.path or ""):
                yield SpecError(doc.where(keys + ("path",)),
                                f"path escapes the step's work dir: {why}")
    for name, spec in app.inputs.items():
        if name not in bound and not spec.optional:
            yield SpecError(doc.where(_inputs_keys(exp, step, i)),
                            f"input '{name}' of {app.name} is not bound",
                            f"add `inputs: {{{name}: <dataset>}}`")


def _inputs_keys(exp: Experiment, step: Step, i: int) -> tuple:
    """Where a missing input binding belongs."""
    if step.inputs and not exp.implicit:
        return ("steps", i, "inputs")
    if exp.inputs and exp.applies_to(step):
        return ("inputs",)
    return ("application",) if exp.implicit else ("steps", i, "name")


def _upstream(exp: Experiment, step: Step) -> set[str]:
    by_name = {s.name: s for s in exp.steps}
    seen: set[str] = set()
    todo = list(step.needs)
    while todo:
        name = todo.pop()
        if name not in seen and name in by_name:
            seen.add(name)
            todo.extend(by_name[name].needs)
    return seen


def _matrix(exp: Experiment, repo: Repository, doc: Document) -> Iterator[SpecError]:
    apps = unique(s.application for s in exp.steps if s.application in repo.applications)
    declared = {k for a in apps for k in repo.applications[a].parameters.get("properties", {})}
    for key, _ in exp.matrix:
        if key not in declared:
            yield SpecError(doc.where(("matrix", key), on_key=True), f"unknown parameter '{key}'",
                            did_you_mean(key, sorted(declared), f"parameters of {', '.join(apps)}"))
        elif key in exp.parameters:
            yield SpecError(doc.where(("parameters", key), on_key=True),
                            f"'{key}' is also swept by the matrix, whose values win",
                            "remove it from `parameters`")
    matrix_keys = [k for k, _ in exp.matrix]
    values = dict(exp.matrix)
    for j, ex in enumerate(exp.exclude):
        for key in ex:
            if key not in matrix_keys:
                yield SpecError(doc.where(("matrix", "exclude", j, key), on_key=True),
                                f"'{key}' is not a matrix key",
                                did_you_mean(key, matrix_keys, "matrix keys"))
            elif not any(matrix.same(ex[key], v) for v in values[key]):
                yield SpecError(doc.where(("matrix", "exclude", j, key)),
                                f"{ex[key]!r} is not among the values of matrix.{key}, "
                                "so this excludes nothing")
    if matrix.count(exp) > matrix.MAX_POINTS:
        yield SpecError(doc.where(("matrix",)), f"the matrix has {matrix.count(exp)} points; "
                        f"at most {matrix.MAX_POINTS} are allowed", "split the experiment")
