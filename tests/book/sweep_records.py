"""Run records with metrics, made in memory or written into a repository's results/."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from runner.results.records import Run
from runner.state import RunRecord, TaskRecord, save


def run_id(n: int) -> str:
    """A valid run id for the n-th run (later n, later time)."""
    return f"2025{1 + n // 28 % 12:02d}{1 + n % 28:02d}T{n % 24:02d}0000Z-{n:08x}"


def task(i: int, parameters: dict[str, Any], metrics: dict[str, Any] | None) -> TaskRecord:
    """A succeeded task with these parameters and metrics."""
    return TaskRecord(id=f"main-{i:04d}", step="main", index=i, parameters=parameters,
                      state="succeeded", metrics=metrics)


def record(experiment: str, n: int, tasks: list[TaskRecord]) -> RunRecord:
    """A succeeded run record of the n-th run."""
    return RunRecord(run_id=run_id(n), experiment=experiment, spec_hash="ab" * 32,
                     application={"name": "heat", "version": "1.2.0", "image": None},
                     infrastructure={"name": "local", "kind": "local", "host": None},
                     tasks=tasks, state="succeeded")


def run(rec: RunRecord) -> Run:
    """A run held in memory (its folder does not exist: it has no files)."""
    return Run(Path("/nonexistent") / rec.experiment / rec.run_id, rec)


def heat_metrics(nu: float, n: int, scale: float = 1.0) -> dict[str, Any]:
    """Plausible heat-sweep metrics for a point: numbers and one word."""
    return {"heat": scale * math.exp(-nu * 10), "max": scale * 0.4 / (1 + nu), "steps": 4 * n,
            "verdict": "ok"}


def heat_run(n: int, scale: float = 1.0, nus=(0.05, 0.1, 0.2), ns=(32, 64)) -> RunRecord:
    """A heat-sweep run whose tasks have metrics (its matrix: nu x n, as the example's)."""
    points = [(nu, size) for nu in nus for size in ns]
    return record("heat-sweep", n, [task(i, {"nu": nu, "n": size, "t_end": 0.1},
                                         heat_metrics(nu, size, scale))
                                    for i, (nu, size) in enumerate(points)])


def write(repo: Path, rec: RunRecord) -> Path:
    """Write the record as results/<experiment>/<run-id>/run.json; its folder."""
    folder = repo / "results" / rec.experiment / rec.run_id
    folder.mkdir(parents=True, exist_ok=True)
    save(rec, folder)
    return folder


def with_metrics(path: Path, metrics: dict[str, dict[str, Any]]) -> dict:
    """Set the metrics of a recorded run's tasks (task id -> metrics); the record."""
    data = json.loads(path.read_text())
    for t in data["tasks"]:
        if t["id"] in metrics:
            t["metrics"] = metrics[t["id"]]
    path.write_text(json.dumps(data, indent=1))
    return data
