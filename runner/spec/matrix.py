"""Matrix points and per-step parameters of an experiment."""

from __future__ import annotations

import itertools
from typing import Any

from runner.spec.compiled import equal
from runner.spec.models import Application, Experiment, Step

MAX_POINTS = 100_000


def same(a: Any, b: Any) -> bool:
    """Whether two YAML values are the same value (JSON equality: `1 == 1.0`, `true != 1`)."""
    return equal(a, b)


def points(exp: Experiment) -> list[dict[str, Any]]:
    """The cartesian product of the matrix lists, minus the excluded points, in a stable order."""
    if not exp.matrix:
        return [{}]
    keys = [k for k, _ in exp.matrix]
    out = []
    for values in itertools.product(*(v for _, v in exp.matrix)):
        point = dict(zip(keys, values))
        if not any(all(k in point and equal(point[k], v) for k, v in ex.items())
                   for ex in exp.exclude):
            out.append(point)
    return out


def count(exp: Experiment) -> int:
    """How many points the matrix has before exclusion (cheap: no product is built)."""
    n = 1
    for _, values in exp.matrix:
        n *= len(values)
    return n


def step_parameters(exp: Experiment, step: Step, app: Application,
                    point: dict[str, Any]) -> dict[str, Any]:
    """Defaults, then the experiment's values (same application), the step's, the matrix point's."""
    declared = app.parameters.get("properties", {})
    params = app.defaults()
    if step.application == exp.application:
        params.update(exp.parameters)
    params.update(step.parameters)
    params.update({k: v for k, v in point.items() if k in declared})
    return params
