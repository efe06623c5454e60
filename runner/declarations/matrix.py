"""Matrix points and per-step parameters of an experiment."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from runner.declarations.models import Application, Experiment, Step

MAX_POINTS = 100_000


def points(exp: Experiment) -> list[dict[str, Any]]:
    """The cartesian product of the matrix lists, minus the excluded points, in a stable order."""
    if not exp.matrix:
        return [{}]
    keys = [k for k, _ in exp.matrix]
    out = []
    for values in itertools.product(*(v for _, v in exp.matrix)):
        point = dict(zip(keys, values))
        if not any(all(k in point and same(point[k], v) for k, v in ex.items())
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
    if exp.applies_to(step):
        params.update(exp.parameters)
    params.update(step.parameters)
    params.update({k: v for k, v in point.items() if k in declared})
    return params


def same(one: Any, two: Any) -> bool:
    """Whether two YAML values are the same value, by jsonschema's equality: `1 == 1.0` but
    `True` is not `1`, containers compare element by element."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, (list, tuple)) and isinstance(two, (list, tuple)):
        return len(one) == len(two) and all(same(a, b) for a, b in zip(one, two))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(k in two and same(v, two[k]) for k, v in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return one == two
