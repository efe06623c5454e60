"""Placement on this machine: the example sweep with two local infrastructures as candidates,
one running 2 tasks at a time (the example's `local`), the other 6. Predicted from the
walltime first, from recorded run times after; overridden by MSO_PLACEMENT; reused wherever a
point ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import mso

WIDE = "name: wide\nkind: local\nwork_root: .mso/wide\nlimits: {max_parallel: 6}\n"


@pytest.fixture
def placed(example: Path) -> Path:
    (example / "infrastructures" / "wide.yaml").write_text(WIDE)
    exp = example / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("infrastructure: local\n",
                                           "infrastructure: [local, wide]\n"))
    return example


def _records(repo: Path) -> list[dict]:
    runs = sorted((repo / "results" / "heat-sweep").glob("*/run.json"))
    return [json.loads(p.read_text()) for p in runs]


def _ran_on(repo: Path, record: dict) -> set[str]:
    plan = repo / "results" / "heat-sweep" / record["run_id"] / "plan.json"
    return {t["infrastructure"] for t in json.loads(plan.read_text())["tasks"]}


def test_the_soonest_candidate_runs_it_and_the_record_says_why(placed: Path) -> None:
    done = mso("run", "heat-sweep", repo=placed, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert "heat-sweep: placement: local: run 30 min; wide: run 10 min → wide" in said
    record = _records(placed)[-1]
    (decision,) = record["placement"]
    assert decision["mode"] == "auto" and decision["chosen"] == "wide"
    assert decision["predictions"]["local"]["run"] == 3 * 600, "6 tasks of 10 min, 2 at a time"
    assert decision["predictions"]["wide"]["run"] == 600
    assert "6 tasks from the walltime asked for" in decision["predictions"]["wide"]["why"]["run"]
    assert _ran_on(placed, record) == {"wide"}

    # the same points again on the other candidate: up to date, nothing runs
    again = mso("run", "heat-sweep", repo=placed, env={"MSO_PLACEMENT": "local"})
    assert again.returncode == 0 and "up to date" in again.stdout, again.stdout + again.stderr


def test_a_rerun_goes_where_the_run_went(placed: Path) -> None:
    from tests.commands.test_rerun import commit_all, ran
    commit_all(placed)
    run_id = ran(placed, "heat-sweep")
    assert _ran_on(placed, _records(placed)[-1]) == {"wide"}
    (placed / "infrastructures" / "local.yaml").write_text(
        (placed / "infrastructures" / "local.yaml").read_text().replace("max_parallel: 2", "max_parallel: 8"))
    commit_all(placed, "local is now the wider: auto would choose it")
    done = mso("rerun", run_id, "--json", repo=placed, timeout=300, env={"MSO_PLACEMENT": "local"})
    assert done.returncode == 0, done.stderr
    rerun = json.loads(done.stdout)["rerun"]
    record = next(r for r in _records(placed) if r["run_id"] == rerun)
    assert record["rerun_of"] == run_id and _ran_on(placed, record) == {"wide"}


def test_history_replaces_the_walltime_for_new_points(placed: Path) -> None:
    assert mso("run", "heat-sweep", repo=placed, timeout=300).returncode == 0
    exp = placed / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("t_end: 0.1", "t_end: 0.12"))
    done = mso("run", "heat-sweep", repo=placed, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    wide = _records(placed)[-1]["placement"][0]["predictions"]["wide"]
    assert wide["why"]["run"].startswith("6 tasks from heat's tasks on wide"), wide
    assert wide["run"] < 60, "the recorded tasks took seconds, not the 10 min walltime"


def test_the_variable_overrides_for_one_pipeline(placed: Path) -> None:
    done = mso("run", "heat-sweep", repo=placed, env={"MSO_PLACEMENT": "local"}, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (decision,) = _records(placed)[-1]["placement"]
    assert (decision["mode"], decision["chosen"]) == ("override", "local")
    assert decision["predictions"]["wide"]["total"] < decision["predictions"]["local"]["total"], \
        "predicted all the same: auto would have chosen wide"
    assert "→ local (MSO_PLACEMENT)" in done.stdout + done.stderr
    assert _ran_on(placed, _records(placed)[-1]) == {"local"}


def test_placement_first_takes_the_first(placed: Path) -> None:
    exp = placed / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text() + "placement: first\n")
    plan = mso("plan", "--json", "heat-sweep", repo=placed)
    assert plan.returncode == 0, plan.stderr
    (entry,) = json.loads(plan.stdout)["experiments"]
    assert entry["infrastructures"] == ["local"]
    assert entry["placement"][0]["mode"] == "first"


def test_a_variable_naming_no_candidate_is_refused(placed: Path) -> None:
    done = mso("run", "heat-sweep", repo=placed, env={"MSO_PLACEMENT": "clustr"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MSO_PLACEMENT=clustr, but steps main of heat-sweep can run only on local, wide" \
        in done.stderr and "Traceback" not in done.stderr
    assert not (placed / "results").exists(), "nothing started, nothing written"


def test_plan_shows_the_predictions(placed: Path) -> None:
    done = mso("plan", repo=placed)
    assert done.returncode == 0, done.stderr
    assert "placement: local: run 30 min; wide: run 10 min → wide" in done.stdout
    assert "on wide" in done.stdout.splitlines()[0]
