"""Parameter values of experiments checked against their application's schema, after defaults.

Each value is reported where it was written: `parameters.n`, `steps[1].parameters.n`, or
`matrix.nu[2]` for the third value of a sweep. Values that reach the job script must be one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

from runner.errors import SpecError
from runner.declarations import matrix
from runner.declarations.models import Application, Experiment, Step
from runner.declarations.paths import CONTROL
from runner.declarations.schema import UserSchema, did_you_mean
from runner.declarations.yamlload import Document

MULTILINE = "a value that reaches the job script may not contain a newline, carriage return or NUL"


def step_keys(exp: Experiment, i: int, key: str) -> tuple:
    """Where a step's field is written: under steps[i] or, for the implicit step, at the top."""
    return (key,) if exp.implicit else ("steps", i, key)


def defaults(params: UserSchema, doc: Document) -> list[SpecError]:
    """Each default of an application must satisfy its own parameter's schema, on one line."""
    errors = []
    for name, sub in params.schema.get("properties", {}).items():
        if not isinstance(sub, dict) or "default" not in sub:
            continue
        where = ("parameters", "properties", name, "default")
        found = params.per_key().errors({name: sub["default"]}, doc, lambda p, where=where: where + p[1:])
        errors += found or list(unsafe_strings(doc, sub["default"], where))
    return errors


def check_step(exp: Experiment, step: Step, i: int, app: Application, params: UserSchema,
               doc: Document) -> Iterator[SpecError]:
    """Check one step's parameter values against its application's schema, after defaults."""
    if params.invalid:
        return  # the application's own errors say why
    declared = params.schema.get("properties", {})
    given = {**(exp.parameters if exp.applies_to(step) else {}), **step.parameters}
    for name in given:
        if name not in declared:
            yield SpecError(doc.where(_origin(exp, step, i, name), on_key=True),
                            f"unknown parameter '{name}'",
                            did_you_mean(name, sorted(declared), f"parameters of {app.name}"))
    if params.ties or params.per_key().invalid:
        yield from _whole_points(exp, step, i, app, params, doc)
    else:
        yield from _key_by_key(exp, step, i, app, params, doc, given)


def _key_by_key(exp: Experiment, step: Step, i: int, app: Application, params: UserSchema,
                doc: Document, given: dict[str, Any]) -> Iterator[SpecError]:
    """Without ties between parameters each value is checked once, wherever it was written."""
    declared = params.schema.get("properties", {})
    swept = {k for k, _ in exp.matrix if k in declared}
    keys = step_keys(exp, i, "parameters") if step.parameters else ("parameters",)
    for name in params.schema.get("required", []):
        if name not in given and name not in swept and name not in app.defaults():
            yield SpecError(doc.where(keys), f"parameter '{name}' of {app.name} is required",
                            f"set it in `parameters: {{{name}: ...}}`")
    per_key = params.per_key()
    for name, value in given.items():
        if name in declared and name not in swept:
            where = _origin(exp, step, i, name)
            yield from per_key.errors({name: value}, doc, lambda p, w=where: w + p[1:])
    for key, values in exp.matrix:
        if key in swept:
            for j, value in enumerate(values):
                yield from per_key.errors({key: value}, doc,
                                          lambda p, j=j, k=key: ("matrix", k, j) + p[1:])


def _whole_points(exp: Experiment, step: Step, i: int, app: Application, params: UserSchema,
                  doc: Document) -> Iterator[SpecError]:
    """Constraints across parameters: check each matrix point whole, up to the first bad one."""
    if matrix.count(exp) > matrix.MAX_POINTS:
        return  # reported on its own
    for point in matrix.points(exp):
        values = matrix.step_parameters(exp, step, app, point)
        errs = params.errors(values, doc, lambda p, point=point: _point_keys(exp, step, i, point, p))
        yield from errs
        if errs:
            return


def _origin(exp: Experiment, step: Step, i: int, name: str) -> tuple:
    """Where the value of a parameter that is not swept was written."""
    if name in step.parameters and not exp.implicit:
        return ("steps", i, "parameters", name)
    if exp.applies_to(step) and (name in exp.parameters or exp.implicit):
        return ("parameters", name)
    return step_keys(exp, i, "parameters") + (name,)  # a default: where it would be set


def _point_keys(exp: Experiment, step: Step, i: int, point: dict, path: tuple) -> tuple:
    if not path:
        return step_keys(exp, i, "parameters") if step.parameters else ("parameters",)
    name = path[0]
    if name in point:
        values = dict(exp.matrix)[name]
        j = next((j for j, v in enumerate(values) if matrix.same(v, point[name])), 0)
        return ("matrix", name, j) + path[1:]
    return _origin(exp, step, i, name) + path[1:]


def unsafe_values(exp: Experiment, doc: Document) -> Iterator[SpecError]:
    """Values that reach a job script must be single lines without NUL."""
    yield from unsafe_strings(doc, exp.parameters, ("parameters",))
    for key, values in exp.matrix:
        yield from unsafe_strings(doc, values, ("matrix", key))
    for i, step in enumerate(exp.steps):
        if step.parameters:
            yield from unsafe_strings(doc, step.parameters, ("steps", i, "parameters"))


def unsafe_strings(doc: Document, value: Any, keys: tuple) -> Iterator[SpecError]:
    """An error for each string in `value` (keys too) holding a newline or NUL."""
    if isinstance(value, str):
        if CONTROL.search(value):
            yield SpecError(doc.where(keys), MULTILINE, "keep each value on one line")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if CONTROL.search(k):
                yield SpecError(doc.where(keys + (k,), on_key=True), MULTILINE)
            yield from unsafe_strings(doc, v, keys + (k,))
    elif isinstance(value, (tuple, list)):
        for j, v in enumerate(value):
            yield from unsafe_strings(doc, v, keys + (j,))
