"""Result files and plots are checked with the other cross-references: messages carry file, line
and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import mso
from tests.declarations.test_crossref import APP as CROSSREF_APP
from tests.declarations.test_crossref import application, experiment, load

APP = CROSSREF_APP + "outputs: [out/summary.json]\n"
EXP = "name: e\napplication: app\nmatrix: {a: [1, 2], b: [x, y]}\n"


@pytest.mark.parametrize("file, said", [
    ("../up.json", "applications/app.yaml:12:12: results[0].file: result file '../up.json' "
                   "escapes the task's work dir: it climbs out with '..' (result files are "
                   "relative to the task's work dir)"),
    ("/abs.json", "result file '/abs.json' escapes the task's work dir: it is absolute"),
    ("out/*.json", "result file 'out/*.json' is a pattern, not one file (name the file"),
    ("out/field.npy", "result file 'out/field.npy' is neither .json nor .csv"),
])
def test_a_result_file_must_be_one_json_or_csv_file_inside(example: Path, file: str,
                                                          said: str) -> None:
    found = application(example, APP + f"results:\n  - {{file: '{file}'}}\n")
    assert len(found) == 1 and said in found[0], found


def test_result_files_that_are_fine(example: Path) -> None:
    assert application(example, APP + "results: [{file: out/summary.json, fields: [err]},"
                                      " {file: conv.CSV}]\n") == []


def _sweep(repo: Path, results: str, plots: str) -> list[str]:
    (repo / "applications" / "app.yaml").write_text(APP + results)
    (repo / "experiments" / "e.yaml").write_text(EXP + plots)
    return [e for e in load(repo) if e.startswith("experiments/e.yaml")]


RESTRICTED = "results: [{file: out/summary.json, fields: [error, rate]}]\n"


def test_plots_name_parameters_and_metrics(example: Path) -> None:
    ok = "plots:\n  - {x: a, y: error, group: b, logy: true}\n  - {x: rate, y: error}\n"
    assert _sweep(example, RESTRICTED, ok) == []
    found = _sweep(example, RESTRICTED, "plots:\n  - {x: aa, y: eror, group: c}\n"
                                        "  - {x: a, y: rate, group: a}\n")
    assert found == [
        "experiments/e.yaml:5:9: plots[0].x: 'aa' is neither a parameter nor a metric of app "
        "(did you mean 'a'?)",
        "experiments/e.yaml:5:16: plots[0].y: 'eror' is not a metric of app (did you mean 'error'?)",
        "experiments/e.yaml:5:29: plots[0].group: 'c' is neither a parameter nor a metric of app "
        "(parameters and metrics: a, b, error, rate)",
        "experiments/e.yaml:6:28: plots[1].group: the plot is grouped by its own x axis, 'a' "
        "(group by another parameter, or leave `group` out)"]


def test_without_fields_any_metric_name_is_accepted(example: Path) -> None:
    assert _sweep(example, "results: [{file: out/summary.json}]\n",
                  "plots: [{x: a, y: anything, group: b}]\n") == []


def test_a_plot_needs_declared_results(example: Path) -> None:
    found = _sweep(example, "", "plots: [{x: a, y: error}]\n")
    assert found == ["experiments/e.yaml:4:19: plots[0].y: app declares no result metrics to "
                     "plot (add `results: [{file: out/summary.json}]` to applications/app.yaml)"]


def test_mso_validate_says_it_in_one_line_and_exits_1(example: Path) -> None:
    _sweep(example, RESTRICTED, "plots: [{x: a, y: nope}]\n")
    proc = mso("validate", repo=example)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert "experiments/e.yaml:4:19: plots[0].y: 'nope' is not a metric of app (its results' " \
           "fields: error, rate)" in proc.stdout


def test_the_examples_heat_metrics_can_be_plotted(example: Path) -> None:
    assert experiment(example, "x", "plots: [{x: nu, y: heat_ratio, group: n}]\n") == []
    assert experiment(example, "x", "plots: [{x: nu, y: seconds}]\n") == [
        "experiments/x.yaml:4:20: plots[0].y: 'seconds' is not a metric of heat (its results' "
        "fields: decay_rate, heat_ratio, max, steps)"]
