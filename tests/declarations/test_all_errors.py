"""A file that breaks its schema still gets its cross-file checks: every error in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import SpecErrors
from runner.declarations import repository
from tests.conftest import mso

THREE_MISTAKES = """\
name: bad
application: heat@1.2.0
infrastructure: local
parameters: {heta: 1, t_end: fast}
matrx:
  nu: [0.05]
inputs: {initial: gaussian-bump}
"""


def errors_of(repo: Path, rel: str) -> list[str]:
    errors = [e for e in repository.load(repo).errors if e.where.path == rel]
    return [e.render() for e in sorted(errors, key=lambda e: (e.where.line, e.where.col))]


def test_three_mistakes_in_one_validate_run(example: Path) -> None:
    (example / "experiments" / "bad.yaml").write_text(THREE_MISTAKES)
    result = mso("validate", repo=example, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("experiments/bad.yaml:")]
    assert lines == [
        "experiments/bad.yaml:4:14: parameters.heta: unknown parameter 'heta' "
        "(parameters of heat: cfl, n, nu, t_end)",
        "experiments/bad.yaml:4:30: parameters.t_end: expected a number, got a string",
        "experiments/bad.yaml:5:1: matrx: unknown key 'matrx' (did you mean 'matrix'?)"]
    assert "3 errors" in result.stderr


def test_plan_still_refuses_the_file(example: Path) -> None:
    (example / "experiments" / "bad.yaml").write_text(THREE_MISTAKES)
    with pytest.raises(SpecErrors) as caught:
        repository.load_valid(example)
    assert len(caught.value.errors) == 3
    result = mso("plan", repo=example, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "matrx" in result.stdout + result.stderr and "heta" in result.stdout + result.stderr


def test_a_cut_part_is_not_reported_again(example: Path) -> None:
    """`inputs.initial: 5` is one mistake: not also `input 'initial' is not bound`."""
    (example / "experiments" / "bad.yaml").write_text(
        "name: bad\napplication: heat\nparameters: {heta: 1}\ninputs: {initial: 5}\n")
    found = errors_of(example, "experiments/bad.yaml")
    assert len(found) == 2, found
    assert "inputs.initial: expected a string or a map" in found[1]
    assert "parameters.heta: unknown parameter" in found[0]


def test_errors_inside_steps_keep_their_lines(example: Path) -> None:
    (example / "experiments" / "bad.yaml").write_text(
        "name: bad\napplication: heat\ninputs: {initial: gaussian-bump}\nsteps:\n"
        "  - name: a\n    parameters: {heta: 1}\n  - name: b\n    needs: [a]\n    bogus: 1\n")
    found = errors_of(example, "experiments/bad.yaml")
    assert [f.split(": ")[0] for f in found] == ["experiments/bad.yaml:6:18",
                                                 "experiments/bad.yaml:9:5"], found
    assert "unknown parameter 'heta'" in found[0] and "unknown key 'bogus'" in found[1]


def test_without_its_steps_an_experiment_is_not_checked_further(example: Path) -> None:
    """Cutting `steps` would leave one implicit step: its errors would be about another file."""
    (example / "experiments" / "bad.yaml").write_text(
        "name: bad\napplication: heat\nparameters: {heta: 1}\nsteps: {a: 1}\n")
    found = errors_of(example, "experiments/bad.yaml")
    assert len(found) == 1 and "steps: expected a list" in found[0], found


def test_a_broken_application_is_still_checked_alone(example: Path) -> None:
    app = example / "applications" / "heat.yaml"
    text = app.read_text().replace("outputs:", "outputs: [../escape]\nold_outputs:")
    app.write_text(text + "bogus: 1\n")
    found = errors_of(example, "applications/heat.yaml")
    assert any("unknown key 'bogus'" in f for f in found), found
    assert any("escapes the run directory" in f for f in found), found
    # the experiments that use it are not blamed for it
    assert not [e for e in repository.load(example).errors
                if e.where.path.startswith("experiments/")]


def test_a_misnamed_file_is_checked_too(example: Path) -> None:
    (example / "experiments" / "other.yaml").write_text(
        "name: renamed\napplication: heat\ninputs: {initial: gaussian-bump}\n"
        "parameters: {heta: 1}\n")
    found = errors_of(example, "experiments/other.yaml")
    assert len(found) == 2 and "differs from the file name" in found[0], found
    assert "unknown parameter 'heta'" in found[1]
