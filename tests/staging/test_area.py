"""A remote work area driven through a transport (here the local one, so no sshd is needed):
upload of staged task trees, copies between tasks, fetch of small files, hashes of large ones."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path, PurePosixPath

import pytest

from runner.declarations.repository import load_valid
from runner.monitor.watcher import Watcher
from runner.plan import resolve
from runner.runs import create, lifecycle
from runner.plan.resolve import TaskPlan
from runner.schedulers.context import Context
from runner.secrets import Secrets
from runner.declarations.models import LogSpec
from runner.staging import area as area_mod
from runner.staging import collect
from runner.transports.local import LocalTransport


def _task(tid: str) -> TaskPlan:
    return TaskPlan(id=tid, step="main", index=0, application="a@1", infrastructure="x",
                    parameters={}, argv=("true",), outputs=("out/*.dat", "big.bin"),
                    logs=(LogSpec("app.log"),))


def test_upload_copy_fetch_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage, remote = tmp_path / "stage", tmp_path / "remote" / "run1"
    for tid in ("t1", "t2"):
        (stage / tid / ".mso").mkdir(parents=True)
        (stage / tid / ".mso" / "job.sh").write_text("#!/bin/bash\n")
        (stage / tid / "input name with spaces.txt").write_text(tid)
    area = area_mod.RemoteArea(stage, PurePosixPath(remote), LocalTransport())
    area.upload(["t1", "t2"])
    assert (remote / "t2" / "input name with spaces.txt").read_text() == "t2"

    # what the tasks leave on the host
    (remote / "t1" / "out").mkdir()
    (remote / "t1" / "out" / "a b.dat").write_text("small")
    (remote / "t1" / "big.bin").write_bytes(b"x" * 5000)
    (remote / "t1" / "app.log").write_text("line\n")
    (remote / "t1" / ".mso" / "exit_code").write_text("0\n")
    (remote / "t1" / "unrelated.tmp").write_text("not collected")
    (tmp_path / "local.dat").write_text("small")
    area.put(tmp_path / "local.dat", "t2/inputs/prev/a b.dat")
    assert (remote / "t2" / "inputs" / "prev" / "a b.dat").read_text() == "small"

    monkeypatch.setattr(area_mod, "SMALL", 1000)
    large = area.fetch([_task("t1")])
    assert (stage / "t1" / "out" / "a b.dat").read_text() == "small"
    assert (stage / "t1" / "app.log").exists() and (stage / "t1" / ".mso" / "exit_code").exists()
    assert not (stage / "t1" / "big.bin").exists() and not (stage / "t1" / "unrelated.tmp").exists()
    assert large == {"t1": [{"path": "big.bin", "size": 5000, "stored": "workdir",
                             "sha256": hashlib.sha256(b"x" * 5000).hexdigest()}]}
    got = collect.collect(_task("t1"), stage / "t1", tmp_path / "results", Secrets(), True,
                          large["t1"])
    assert not got.missing and {o["path"] for o in got.outputs} == {"out/a b.dat", "big.bin"}

    area.remove()
    assert not remote.exists() and not stage.exists()


def test_fetch_globs_are_never_executed(tmp_path: Path) -> None:
    stage, remote = tmp_path / "stage", tmp_path / "remote"
    (remote / "t1").mkdir(parents=True)
    task = TaskPlan(id="t1", step="main", index=0, application="a@1", infrastructure="x",
                    parameters={}, argv=("true",), outputs=("$(touch pwned)", "`touch pwned2`"))
    area_mod.RemoteArea(stage, PurePosixPath(remote), LocalTransport()).fetch([task])
    assert not list(tmp_path.rglob("pwned*"))


def test_sweep_on_an_ssh_kind_infrastructure(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole remote path (stage, upload, detached processes, batched status, fetch), with a
    Context whose transport to the `ssh` host is the local one."""
    remote_root = example.parent / "remote-scratch"
    (example / "infrastructures" / "box.yaml").write_text(
        "name: box\nkind: ssh\nhost: box.invalid\nuser: ana\nknown_hosts: {env: BOX_KNOWN_HOSTS}\n"
        f"work_root: {remote_root}\nlimits: {{max_parallel: 3}}\npoll_interval: {{min: 0.2, max: 1}}\n")
    exp = example / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("infrastructure: local", "infrastructure: box"))
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    monkeypatch.setenv("BOX_KNOWN_HOSTS", "unused: the transport is the local one")
    repo = load_valid(example)
    with Context(connect=lambda infra, secrets: LocalTransport(env={"PATH": path})) as ctx:
        run = create.create(ctx, repo, resolve.plan(repo, repo.experiments["heat-sweep"]), {})
        Watcher([run]).run()
        lifecycle.close(run)
    assert run.record.state == "succeeded"
    rec = json.loads((run.results / "run.json").read_text())
    assert rec["infrastructure"] == {"name": "box", "kind": "ssh", "host": "box.invalid"}
    assert rec["work_dir"].startswith(str(remote_root))
    assert all(len(t["outputs"]) == 2 and t["exit_code"] == 0 for t in rec["tasks"])
    assert not any(remote_root.iterdir()), "the remote work dir is removed after collection"
    assert not (example / ".mso" / "stage" / run.record.run_id).exists()
