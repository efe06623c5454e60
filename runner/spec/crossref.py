"""Checks across files: references resolve, parameters fit, paths stay inside, `needs` has no cycle."""

from __future__ import annotations

import graphlib
import re
import string
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from runner.errors import SpecError
from runner.spec import matrix
from runner.spec.models import Application, Experiment, Repository, Step, is_repo_path, plain
from runner.spec.schema import check_value, did_you_mean
from runner.spec.yamlload import Document

_CONTROL = re.compile(r"[\n\r\x00]")
_CROSS_KEYWORDS = {"allOf", "anyOf", "oneOf", "if", "not", "dependentRequired",
                   "dependentSchemas", "minProperties", "maxProperties"}


def check(repo: Repository, docs: Mapping[str, Document]) -> list[SpecError]:
    """All cross-file errors; `docs` maps each declaration's display path to its document."""
    errors: list[SpecError] = []
    for app in repo.applications.values():
        errors += _application(app, docs[app.path])
    for ds in repo.datasets.values():
        errors += _dataset_location(ds.location, docs[ds.path], repo.root)
    for exp in repo.experiments.values():
        errors += list(_experiment(exp, repo, docs[exp.path]))
    return errors


def unsafe_path(path: str) -> str:
    """Why a relative path would leave its folder, or '' when it stays inside."""
    if _CONTROL.search(path):
        return "it contains a newline or NUL"
    p = PurePosixPath(path)
    if p.is_absolute() or path.startswith("~"):
        return "it is absolute"
    if ".." in p.parts:
        return "it climbs out with '..'"
    return ""


def _application(app: Application, doc: Document) -> list[SpecError]:
    errors = []
    try:
        Draft202012Validator.check_schema(plain(app.parameters))
    except SchemaError as exc:
        errors.append(SpecError(doc.where(("parameters",) + tuple(exc.path)),
                                f"not a valid JSON Schema: {exc.message}"))
    for i, glob in enumerate(app.outputs):
        if why := unsafe_path(glob):
            errors.append(SpecError(doc.where(("outputs", i)),
                                    f"output {glob!r} escapes the run directory: {why}",
                                    "outputs are relative to the task's work dir"))
    for i, log in enumerate(app.logs):
        if why := unsafe_path(log.path):
            errors.append(SpecError(doc.where(("logs", i, "path")),
                                    f"log {log.path!r} escapes the run directory: {why}"))
        for j, f in enumerate(log.filters):
            try:
                re.compile(f.pattern)
            except re.error as exc:
                errors.append(SpecError(doc.where(("logs", i, "filters", j, "pattern")),
                                        f"not a valid regular expression: {exc}"))
    errors += _placeholders(app, doc)
    return errors


def _placeholders(app: Application, doc: Document) -> list[SpecError]:
    params = set(app.parameters.get("properties", {}))
    errors = []
    for i, arg in enumerate(app.command):
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
        except ValueError as exc:
            errors.append(SpecError(doc.where(("command", i)), f"bad placeholder: {exc}",
                                    "write a literal brace as {{ or }}"))
            continue
        for name in fields:
            if name.startswith("inputs."):
                if name[7:] not in app.inputs:
                    errors.append(SpecError(doc.where(("command", i)), f"unknown input '{name[7:]}'",
                                            did_you_mean(name[7:], list(app.inputs), "inputs")))
            elif name not in params:
                errors.append(SpecError(doc.where(("command", i)), f"unknown parameter '{name}'",
                                        did_you_mean(name, sorted(params), "parameters")))
    return errors


def _dataset_location(location: str, doc: Document, root: str) -> list[SpecError]:
    if not is_repo_path(location):
        return []
    where = doc.where(("location",))
    if why := unsafe_path(location):
        return [SpecError(where, f"location {location!r} leaves the repository: {why}")]
    base = Path(root).resolve()
    target = base / location
    if not target.exists():
        return [SpecError(where, f"{location!r} does not exist in the repository",
                          "commit the file or give a URL or an rclone remote")]
    if not target.resolve().is_relative_to(base):
        return [SpecError(where, f"{location!r} is a symlink that leaves the repository")]
    return []


def _experiment(exp: Experiment, repo: Repository, doc: Document) -> Iterator[SpecError]:
    app = repo.applications.get(exp.application)
    if app is None:
        yield _unknown(doc, ("application",), "application", exp.application, repo.applications)
        return
    if exp.application_version and exp.application_version != app.version:
        yield SpecError(doc.where(("application",)),
                        f"{exp.application}@{exp.application_version} is not declared: "
                        f"{app.path} has version {app.version}")
    yield from _steps(exp, repo, doc)
    yield from _matrix(exp, app, doc)
    yield from _unsafe_strings(exp, doc)


def _unknown(doc: Document, keys: tuple, kind: str, name: str, known: Mapping) -> SpecError:
    return SpecError(doc.where(keys), f"unknown {kind} '{name}'",
                     did_you_mean(name, sorted(known), f"declared {kind}s"))


def _step_keys(exp: Experiment, i: int, key: str) -> tuple:
    """Where a step's field is written: under steps[i] or, for the implicit step, at the top."""
    return ("steps", i, key) if exp.steps[0].name != "main" or len(exp.steps) > 1 else (key,)


def _steps(exp: Experiment, repo: Repository, doc: Document) -> Iterator[SpecError]:
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
        if step.infrastructure != "local" and step.infrastructure not in repo.infrastructures:
            yield _unknown(doc, _step_keys(exp, i, "infrastructure"), "infrastructure", step.infrastructure, repo.infrastructures)
        app = repo.applications.get(step.application)
        if app is None:
            yield _unknown(doc, ("steps", i, "application"), "application", step.application,
                           repo.applications)
            continue
        yield from _inputs(exp, step, i, app, repo, doc)
        yield from _parameters(exp, step, i, app, doc)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        yield SpecError(doc.where(("steps",)), f"the steps' `needs` form a cycle: {cycle}")


def _inputs(exp: Experiment, step: Step, i: int, app: Application, repo: Repository,
            doc: Document) -> Iterator[SpecError]:
    bound = dict(exp.inputs) if step.application == exp.application else {}
    bound.update(step.inputs)
    for name, binding in bound.items():
        in_step = name in step.inputs
        keys = ("steps", i, "inputs", name) if in_step else ("inputs", name)
        if name not in app.inputs:
            yield SpecError(doc.where(keys, on_key=True), f"{app.name} has no input '{name}'",
                            did_you_mean(name, list(app.inputs), "inputs"))
        elif binding.dataset is not None and binding.dataset not in repo.datasets:
            yield _unknown(doc, keys, "dataset", binding.dataset, repo.datasets)
        elif binding.step is not None and binding.step not in _upstream(exp, step):
            yield SpecError(doc.where(keys), f"step '{binding.step}' is not among the steps "
                            f"'{step.name}' needs", "add it to `needs`")
        elif binding.path is not None and (why := unsafe_path(binding.path)):
            yield SpecError(doc.where(keys + ("path",)), f"path escapes the step's work dir: {why}")
    for name, spec in app.inputs.items():
        if name not in bound and not spec.optional:
            yield SpecError(doc.where(_step_keys(exp, i, "inputs") if step.inputs else ("name",)),
                            f"input '{name}' of {app.name} is not bound",
                            f"add `inputs: {{{name}: <dataset>}}`")


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


def _matrix(exp: Experiment, app: Application, doc: Document) -> Iterator[SpecError]:
    declared = app.parameters.get("properties", {})
    for key, _ in exp.matrix:
        if key not in declared:
            yield SpecError(doc.where(("matrix", key), on_key=True), f"unknown parameter '{key}'",
                            did_you_mean(key, sorted(declared), f"parameters of {app.name}"))
    matrix_keys = [k for k, _ in exp.matrix]
    for j, ex in enumerate(exp.exclude):
        for key in ex:
            if key not in matrix_keys:
                yield SpecError(doc.where(("matrix", "exclude", j, key), on_key=True),
                                f"'{key}' is not a matrix key",
                                did_you_mean(key, matrix_keys, "matrix keys"))
    if matrix.count(exp) > matrix.MAX_POINTS:
        yield SpecError(doc.where(("matrix",)), f"the matrix has {matrix.count(exp)} points; "
                        f"at most {matrix.MAX_POINTS} are allowed", "split the experiment")


def _parameters(exp: Experiment, step: Step, i: int, app: Application,
                doc: Document) -> Iterator[SpecError]:
    """Check one step's parameter values against its application's schema."""
    declared = app.parameters.get("properties", {})
    keys = _step_keys(exp, i, "parameters") if step.parameters else ("parameters",)
    base = matrix.step_parameters(exp, step, app, {})
    for name in base:
        if name not in declared:
            yield SpecError(doc.where(keys + (name,), on_key=True), f"unknown parameter '{name}'",
                            did_you_mean(name, sorted(declared), f"parameters of {app.name}"))
    schema = plain(app.parameters)
    swept = {k for k, _ in exp.matrix if k in declared}
    if _CROSS_KEYWORDS & set(schema):  # constraints across parameters: check every point whole
        for point in matrix.points(exp):
            errs = check_value(matrix.step_parameters(exp, step, app, point), schema, doc, keys)
            yield from errs
            if errs:
                return
        return
    for name in schema.get("required", []):
        if name not in base and name not in swept:
            yield SpecError(doc.where(keys), f"parameter '{name}' of {app.name} is required")
    fixed = {k: v for k, v in base.items() if k in declared and k not in swept}
    yield from check_value(fixed, {**schema, "required": []}, doc, keys)
    for key, values in exp.matrix:
        if key in swept:
            for j, value in enumerate(values):
                yield from check_value(value, declared[key], doc, ("matrix", key, j))


def _unsafe_strings(exp: Experiment, doc: Document) -> Iterator[SpecError]:
    """Values that reach a job script must be single lines without NUL."""
    def walk(value: Any, keys: tuple) -> Iterator[SpecError]:
        if isinstance(value, str) and _CONTROL.search(value):
            yield SpecError(doc.where(keys), "a value that reaches the job script may not contain "
                            "a newline, carriage return or NUL")
        elif isinstance(value, Mapping):
            for k, v in value.items():
                yield from walk(v, keys + (k,))
        elif isinstance(value, tuple):
            for j, v in enumerate(value):
                yield from walk(v, keys + (j,))
    yield from walk(exp.parameters, ("parameters",))
    for key, values in exp.matrix:
        yield from walk(values, ("matrix", key))
    for i, step in enumerate(exp.steps):
        if step.parameters:
            yield from walk(step.parameters, ("steps", i, "parameters"))
