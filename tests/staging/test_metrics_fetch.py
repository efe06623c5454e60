"""A remote work area fetches the result files a task declares even when they are not among its
outputs (here through the local transport; tests/cluster/test_metrics_remote.py goes through
sshd and Slurm)."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest

from runner.declarations.models import ResultFile
from runner.plan.resolve import TaskPlan
from runner.secrets import Secrets
from runner.staging import area as area_mod
from runner.staging import collect
from runner.staging.tree import Tree
from runner.transports.local import LocalTransport


def test_result_files_are_fetched_but_not_made_outputs(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    stage, remote = tmp_path / "stage", tmp_path / "remote" / "run1"
    area = area_mod.RemoteArea(stage, PurePosixPath(remote), LocalTransport())
    area.upload({"t1": Tree(texts=[(".mso/job.sh", "#!/bin/bash\n")])})
    task = TaskPlan(id="t1", step="main", index=0, application="a@1", infrastructure="x",
                    parameters={}, argv=("true",), outputs=("out.txt",),
                    results=(ResultFile("metrics/m.json"), ResultFile("huge.csv")))
    (remote / "t1" / "metrics").mkdir()
    (remote / "t1" / "metrics" / "m.json").write_text(json.dumps({"error": 0.5}))
    (remote / "t1" / "huge.csv").write_text("a\n" + "1\n" * 1000)
    (remote / "t1" / "out.txt").write_text("done\n")
    (remote / "t1" / ".mso" / "exit_code").write_text("0\n")
    monkeypatch.setattr(area_mod, "SMALL", 1000)

    left = area.fetch([task])["t1"]
    assert (stage / "t1" / "metrics" / "m.json").exists()
    assert not (stage / "t1" / "huge.csv").exists(), "larger than a small output: not fetched"
    got = collect.collect(task, stage / "t1", tmp_path / "results", Secrets(environ={}), True, left)
    assert got.metrics == {"error": 0.5}
    assert [o["path"] for o in got.outputs] == ["out.txt"], "a result file is not an output"
    assert got.warnings == ["result file huge.csv was not produced; its metrics were not collected"]
    assert not got.missing and not got.refused
