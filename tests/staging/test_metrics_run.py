"""`mso run` of a small local sweep collects each task's metrics into run.json; a plan.json
written before plans carried result files still loads."""

from __future__ import annotations

import json
from pathlib import Path

from runner.plan.resolve import TaskPlan
from tests.conftest import ROOT, mso
from tests.staging.scorer import add_scorer


def _record(repo: Path, name: str) -> tuple[dict, Path]:
    [path] = sorted((repo / "results" / name).glob("*/run.json"))
    return json.loads(path.read_text()), path.parent


def test_a_local_run_records_each_tasks_metrics(example: Path) -> None:
    add_scorer(example)
    proc = mso("run", "scores", repo=example)
    assert proc.returncode == 0, proc.stderr
    rec, folder = _record(example, "scores")
    assert rec["state"] == "succeeded"
    by_n = {t["parameters"]["n"]: t["metrics"] for t in rec["tasks"]}
    assert by_n == {n: {"error": 1.0 / n ** 2, "detail.max": 3.0 / n, "label": f"n={n}",
                        "step": 3, "residual": 1.0 / (3 * n)} for n in (2, 4)}
    plan = json.loads((folder / "plan.json").read_text())
    assert plan["tasks"][0]["results"][1] == {"file": "history.csv", "fields": []}


def test_a_bad_result_file_is_a_warning_not_a_failure(example: Path) -> None:
    add_scorer(example, extra="parameters: {how: broken}\n")
    proc = mso("run", "scores", repo=example)
    assert proc.returncode == 0, proc.stderr
    assert "result file out/summary.json is not valid JSON" in proc.stderr + proc.stdout
    rec, _ = _record(example, "scores")
    assert rec["state"] == "succeeded"
    assert [t["metrics"] for t in rec["tasks"]] == [{"step": 3, "residual": 1.0 / (3 * n)}
                                                    for n in (2, 4)]


def test_a_plan_written_before_result_files_loads() -> None:
    saved = json.loads((ROOT / "tests/fixtures/records/main-eb8212a/plan.json").read_text())
    assert all("results" not in t for t in saved["tasks"])
    tasks = [TaskPlan.from_plain(t) for t in saved["tasks"]]
    assert tasks and all(t.results == () for t in tasks)


def test_a_plans_result_files_survive_plan_json(example: Path) -> None:
    from runner.declarations.models import plain
    from runner.declarations.repository import load_valid
    from runner.plan.resolve import plan
    add_scorer(example)
    repo = load_valid(example)
    task = plan(repo, repo.experiments["scores"]).tasks[0]
    assert [r.file for r in task.results] == ["out/summary.json", "history.csv"]
    assert TaskPlan.from_plain(json.loads(json.dumps(plain(task)))) == task


def test_a_reused_point_keeps_its_metrics(example: Path) -> None:
    add_scorer(example)
    assert mso("run", "scores", repo=example).returncode == 0
    path = example / "experiments" / "scores.yaml"
    path.write_text(path.read_text().replace("[2, 4]", "[2, 4, 8]"))
    proc = mso("run", "scores", repo=example)
    assert proc.returncode == 0, proc.stderr
    [tasks] = [t for p in (example / "results" / "scores").glob("*/run.json")
               if len(t := json.loads(p.read_text())["tasks"]) == 3]
    assert sum(1 for t in tasks if t.get("reused")) == 2
    assert {t["parameters"]["n"]: t["metrics"]["error"] for t in tasks} == {
        n: 1.0 / n ** 2 for n in (2, 4, 8)}


def test_a_task_failed_for_a_missing_output_keeps_no_metrics(example: Path) -> None:
    add_scorer(example)
    app = example / "applications" / "scorer.yaml"
    app.write_text(app.read_text().replace("outputs: [out/summary.json]",
                                           "outputs: [out/summary.json, out/field.npy]"))
    proc = mso("run", "scores", repo=example)
    assert proc.returncode == 2, proc.stderr   # tasks failed
    rec, _ = _record(example, "scores")
    assert [t["state"] for t in rec["tasks"]] == ["failed", "failed"]
    assert all("out/field.npy" in t["reason"] and "metrics" not in t for t in rec["tasks"])
