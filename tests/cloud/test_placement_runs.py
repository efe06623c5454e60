"""Placement between the test Slurm cluster and servers made on the stand-in cloud, with real
queue waits: another user's job holding every CPU of the node sends a sweep to the cloud; with
the queue empty, the same kind of sweep stays on the cluster. Both read from run.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cloud.conftest import Cloud
from tests.cloud.test_cloud_runs import _gone, with_cloud
from tests.cluster.conftest import QueueLoad, queue_load, slurm  # noqa: F401 (fixtures)
from tests.cluster.test_ssh_runs import _ledger
from tests.conftest import mso

pytestmark = pytest.mark.integration


def _sweep(repo: Path, labels: str) -> None:
    ledger = _ledger("placement")
    (repo / "experiments" / "placed.yaml").write_text(f"""\
name: placed
application: counter
infrastructure: [cluster, cloud]
placement: auto
parameters: {{ledger: '{ledger}'}}
matrix: {{label: [{labels}]}}
resources: {{tasks: 1, cpus_per_task: 1, walltime: "00:01:00"}}
""")


def _decision(repo: Path) -> tuple[dict, dict]:
    newest = max((repo / "results" / "placed").glob("*/run.json"))
    record = json.loads(newest.read_text())
    (decision,) = record["placement"]
    return record, decision


def test_a_loaded_queue_sends_the_sweep_to_the_cloud_an_empty_one_keeps_it(
        slurm: Path, openstack: Cloud, queue_load: QueueLoad, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = with_cloud(slurm, openstack, tmp_path, monkeypatch, "count: 2")
    _sweep(repo, "a, b, c")
    empty = mso("run", "placed", repo=repo, timeout=300)
    assert empty.returncode == 0, empty.stdout + empty.stderr
    record, decision = _decision(repo)
    cluster, cloud = decision["predictions"]["cluster"], decision["predictions"]["cloud"]
    assert decision["chosen"] == "cluster", decision
    assert cluster["estimate"] < 10 and cluster["wait"] < 10, "nothing ahead in the queue"
    assert cloud["boot"] > 0 and "no boot recorded yet" in cloud["why"]["boot"]
    assert not record.get("servers"), "no server was made"
    assert "_" in record["tasks"][0]["job_id"], "the sweep ran as a Slurm array"

    queue_load.fill(600)          # every CPU, for ten minutes, by another user
    _sweep(repo, "d, e, f")       # new points: placed again
    loaded = mso("run", "placed", repo=repo, timeout=300)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    record, decision = _decision(repo)
    cluster, cloud = decision["predictions"]["cluster"], decision["predictions"]["cloud"]
    assert decision["chosen"] == "cloud", decision
    assert 540 <= cluster["estimate"] <= 600, "the other user's job ends within ten minutes"
    assert cluster["total"] > cloud["total"]
    assert "the scheduler's estimate" in cluster["why"]["wait"]
    assert cloud["why"]["run"].startswith("3 tasks from counter's tasks elsewhere"), cloud
    plan = json.loads((repo / "results" / "placed" / record["run_id"] / "plan.json").read_text())
    assert {t["infrastructure"] for t in plan["tasks"]} <= {"cloud.1", "cloud.2"}
    assert all(t["state"] == "succeeded" for t in record["tasks"])
    assert len(record["servers"]) == 2 and all(s.get("deleted") for s in record["servers"])
    assert _gone(openstack)
    said = loaded.stdout + loaded.stderr
    assert "placed: placement: cluster: wait " in said and "→ cloud" in said
