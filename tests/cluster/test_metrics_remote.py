"""Result metrics come back from remote hosts: through the test sshd (`login`, no scheduler) and
the test Slurm cluster (`cluster`), with a result file that is not among the outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import mso
from tests.staging.scorer import add_scorer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("infra", ["login", "cluster"])
def test_a_remote_run_records_each_tasks_metrics(on_cluster: Path, infra: str) -> None:
    add_scorer(on_cluster, name=f"scores-{infra}", infra=infra)
    proc = mso("run", f"scores-{infra}", repo=on_cluster, timeout=600)
    assert proc.returncode == 0, proc.stderr
    [path] = sorted((on_cluster / "results" / f"scores-{infra}").glob("*/run.json"))
    rec = json.loads(path.read_text())
    assert rec["state"] == "succeeded"
    by_n = {t["parameters"]["n"]: t["metrics"] for t in rec["tasks"]}
    assert by_n == {n: {"error": 1.0 / n ** 2, "detail.max": 3.0 / n, "label": f"n={n}",
                        "step": 3, "residual": 1.0 / (3 * n)} for n in (2, 4)}
    for t in rec["tasks"]:
        assert [o["path"] for o in t["outputs"]] == ["out/summary.json"]
        assert not (path.parent / t["id"] / "history.csv").exists(), "not an output: not kept"
