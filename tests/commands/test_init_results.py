"""The example `mso init` writes collects its result metrics: each task's run.json entry holds
the error, and the numbers answer the example's question (a four-fold fall per refinement)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import mso


def test_the_scaffolds_run_records_the_error_of_each_point(tmp_path: Path) -> None:
    assert mso("init", "lab", repo=tmp_path).returncode == 0
    repo = tmp_path / "lab"
    proc = mso("run", "diffusion-convergence", repo=repo)
    assert proc.returncode == 0, proc.stderr
    [path] = (repo / "results" / "diffusion-convergence").glob("*/run.json")
    tasks = json.loads(path.read_text())["tasks"]
    metrics = {(t["parameters"]["nu"], t["parameters"]["n"]): t["metrics"] for t in tasks}
    assert all(set(m) == {"max_error", "relative_error", "steps"} for m in metrics.values())
    for nu in (0.5, 1.0):
        fall = metrics[nu, 16]["max_error"] / metrics[nu, 32]["max_error"]
        assert 3 < fall < 5, (nu, fall)
