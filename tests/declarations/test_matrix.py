"""Matrix points and the parameters of each step at each point."""

from __future__ import annotations

from runner.declarations import matrix
from runner.declarations.construct import application, experiment
from runner.declarations.yamlload import parse


def exp(text: str):
    return experiment(parse("name: e\napplication: a\n" + text, "e.yaml"))


APP = application(parse("""\
name: a
version: "1"
description: d
command: [run]
parameters:
  properties:
    x: {default: 1}
    y: {default: 2}
    z: {default: 3}
""", "a.yaml"))


def test_no_matrix_is_one_point() -> None:
    assert matrix.points(exp("")) == [{}]
    assert matrix.count(exp("")) == 1


def test_points_are_the_product_in_order() -> None:
    e = exp("matrix: {x: [1, 2], y: [a, b, c]}\n")
    assert matrix.count(e) == 6
    assert matrix.points(e) == [{"x": 1, "y": "a"}, {"x": 1, "y": "b"}, {"x": 1, "y": "c"},
                                {"x": 2, "y": "a"}, {"x": 2, "y": "b"}, {"x": 2, "y": "c"}]


def test_exclude_drops_matching_points() -> None:
    e = exp("matrix:\n  x: [1, 2]\n  y: [a, b]\n  exclude: [{x: 1, y: b}, {x: 2}]\n")
    assert matrix.points(e) == [{"x": 1, "y": "a"}]
    assert matrix.count(e) == 4  # before exclusion


def test_exclude_compares_as_json() -> None:
    e = exp("matrix:\n  x: [1, true, 2.0]\n  exclude: [{x: 1.0}, {x: 2}]\n")
    assert matrix.points(e) == [{"x": True}]
    assert matrix.same(1, 1.0) and not matrix.same(1, True) and matrix.same([1], (1,))


def test_step_parameters_layering() -> None:
    e = exp("parameters: {y: 20, z: 30}\nsteps:\n  - {name: s, parameters: {z: 300}}\n"
            "matrix: {x: [10], other: [1]}\n")
    [step] = e.steps
    assert matrix.step_parameters(e, step, APP, {"x": 10, "other": 1}) == {"x": 10, "y": 20,
                                                                           "z": 300}


def test_a_step_of_another_application_keeps_its_own_values() -> None:
    e = exp("parameters: {y: 20}\nsteps:\n  - {name: s, application: b, parameters: {z: 5}}\n")
    assert matrix.step_parameters(e, e.steps[0], APP, {}) == {"x": 1, "y": 2, "z": 5}
