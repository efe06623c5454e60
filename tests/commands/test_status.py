"""`mso status`: a typo is an error with a did-you-mean, outside a repository it says so."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import counter_experiment, mso


def clean_failure(result) -> str:
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    return out


def test_a_misspelt_experiment_is_an_error_with_a_did_you_mean(example: Path) -> None:
    out = clean_failure(mso("status", "heat-swep", repo=example))
    assert "mso: unknown experiment 'heat-swep' (did you mean 'heat-sweep'?)" in out
    as_json = json.loads(mso("status", "heat-swep", "--json", repo=example).stdout)
    assert as_json["ok"] is False and "heat-swep" in as_json["error"]


def test_a_declared_experiment_never_run_has_no_runs_yet(example: Path) -> None:
    result = mso("status", "heat-sweep", repo=example)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "no runs yet of heat-sweep; `mso run heat-sweep` starts them\n"
    assert mso("status", repo=example).stdout.startswith("no runs yet (results/ is empty)")


def test_outside_a_repository_it_says_so(tmp_path: Path) -> None:
    out = clean_failure(mso("status", repo=tmp_path))
    assert "not an mso repository" in out and "mso init" in out


def test_runs_are_shown_even_once_the_declaration_is_gone(counter: Path) -> None:
    counter_experiment(counter, "count", ["a", "b"])
    assert mso("run", "count", repo=counter).returncode == 0
    (counter / "experiments" / "count.yaml").unlink()
    result = mso("status", "count", "--json", repo=counter)
    assert result.returncode == 0, result.stderr
    [run] = json.loads(result.stdout)["runs"]
    assert run["experiment"] == "count" and run["succeeded"] == 2 and run["tasks"] == 2
    table = mso("status", repo=counter).stdout.splitlines()
    assert table[0].split() == ["EXPERIMENT", "RUN", "STATE", "OK/FAILED/ALL", "WHERE", "UPDATED"]
    assert table[1].split()[:4] == ["count", run["run_id"], "succeeded", "2/0/2"]


def test_last_must_be_positive(example: Path) -> None:
    assert "--last 0" in clean_failure(mso("status", "--last", "0", repo=example))
