"""A remote work area driven through a transport (here the local one, so no sshd is needed):
upload of staged task trees, copies between tasks, fetch of small files, hashes of large ones."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
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
from runner.errors import MsoError
from runner.staging import area as area_mod
from runner.staging import collect
from runner.staging.tree import Tree
from runner.transports.local import LocalTransport


def _task(tid: str) -> TaskPlan:
    return TaskPlan(id=tid, step="main", index=0, application="a@1", infrastructure="x",
                    parameters={}, argv=("true",), outputs=("out/*.dat", "big.bin"),
                    logs=(LogSpec("app.log"),))


def test_upload_copy_fetch_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage, remote = tmp_path / "stage", tmp_path / "remote" / "run1"
    area = area_mod.RemoteArea(stage, PurePosixPath(remote), LocalTransport())
    area.upload({tid: Tree(texts=[(".mso/job.sh", "#!/bin/bash\n"),
                                  ("input name with spaces.txt", tid)]) for tid in ("t1", "t2")})
    assert (remote / "t2" / "input name with spaces.txt").read_text() == "t2"
    assert area.prepared() == {"t1", "t2"} and not list(stage.glob("t*")), "no local copy per task"

    # what the tasks leave on the host
    (remote / "t1" / "out").mkdir()
    (remote / "t1" / "out" / "a b.dat").write_text("small")
    (remote / "t1" / "big.bin").write_bytes(b"x" * 5000)
    (remote / "t1" / "app.log").write_text("line\n")
    (remote / "t1" / ".mso" / "exit_code").write_text("0\n")
    (remote / "t1" / ".mso" / "started").write_text("1796051908\n")
    (remote / "t1" / ".mso" / "stdout").write_text("")
    (remote / "t1" / ".mso" / "stderr").write_text("a warning\n")
    (remote / "t1" / "unrelated.tmp").write_text("not collected")
    (tmp_path / "local.dat").write_text("small")
    area.put(tmp_path / "local.dat", "t2/inputs/prev/a b.dat")
    assert (remote / "t2" / "inputs" / "prev" / "a b.dat").read_text() == "small"

    monkeypatch.setattr(area_mod, "SMALL", 1000)
    left = area.fetch([_task("t1")])["t1"]
    assert (stage / "t1" / "out" / "a b.dat").read_text() == "small"
    assert (stage / "t1" / "app.log").exists() and (stage / "t1" / ".mso" / "stderr").exists()
    # the wrapper's records are read from the archive, an empty stdout is not fetched
    assert left.records.exit_code == 0 and left.records.started == "2026-11-30T15:18:28Z"
    assert not (stage / "t1" / ".mso" / "exit_code").exists()
    assert not (stage / "t1" / ".mso" / "stdout").exists()
    assert not (stage / "t1" / "big.bin").exists() and not (stage / "t1" / "unrelated.tmp").exists()
    assert left.large == [{"path": "big.bin", "size": 5000, "stored": "workdir",
                           "sha256": hashlib.sha256(b"x" * 5000).hexdigest()}]
    results = tmp_path / "results"
    got = collect.collect(_task("t1"), stage / "t1", results, Secrets(), True, left)
    assert not got.missing and {o["path"] for o in got.outputs} == {"out/a b.dat", "big.bin"}
    assert (results / "stderr.txt").read_text() == "a warning\n"
    assert not (results / "stdout.txt").exists(), "an empty log is not kept"

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
    assert not (remote_root / run.record.run_id).exists(), "the work dir is gone at once"
    def left() -> set[str]:   # the host's data cache stays, shared by runs
        return {p.name for p in remote_root.iterdir()} - {".cache"}
    deadline = time.monotonic() + 30
    while left() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left(), "and deleted in the background"
    assert [e["route"] for e in rec["staged"]["box"].values()] == ["relayed"]
    assert not (example / ".mso" / "stage" / run.record.run_id).exists()


def test_shared_inputs_are_linked_from_the_cache_not_sent(tmp_path: Path) -> None:
    """Dataset inputs are entries of the host's cache: one command links them into every task
    after the archive is unpacked; the archive holds none of their bytes."""
    data = tmp_path / "cache" / "folder entry"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "field.bin").write_bytes(os.urandom(200_000))   # does not compress
    (tmp_path / "cache" / "file entry").write_bytes(os.urandom(1000))
    stage, remote = tmp_path / "stage", tmp_path / "remote"
    area = area_mod.RemoteArea(stage, PurePosixPath(remote), LocalTransport())
    sent, runs = [], []
    area.transport.put = lambda local, path, put=area.transport.put: (
        sent.append(local.stat().st_size), put(local, path))
    area.transport.run = lambda cmd, run=area.transport.run, **kw: (runs.append(cmd),
                                                                     run(cmd, **kw))[1]
    area.upload({f"t{i}": Tree(shared=[("inputs/data", str(data)),
                                       ("inputs/one/$(touch pwned) x.bin",
                                        str(tmp_path / "cache" / "file entry"))])
                 for i in range(5)})
    copies = [remote / f"t{i}" / "inputs" / "data" / "sub" / "field.bin" for i in range(5)]
    assert all(c.read_bytes() == (data / "sub" / "field.bin").read_bytes() for c in copies)
    assert len({c.stat().st_ino for c in copies} | {(data / "sub" / "field.bin").stat().st_ino}) == 1
    ones = [remote / f"t{i}" / "inputs" / "one" / "$(touch pwned) x.bin" for i in range(5)]
    assert len({c.stat().st_ino for c in ones}) == 1 and not list(tmp_path.rglob("pwned"))
    assert sent == [pytest.approx(sent[0])] and sent[0] < 10_000, f"no data in the archive: {sent}"
    assert len(runs) == 2, "one command makes the work dir, one unpacks and links every input"


def test_a_large_batch_is_unpacked_from_archives_side_by_side(tmp_path: Path) -> None:
    stage, remote = tmp_path / "stage", tmp_path / "remote"
    area = area_mod.RemoteArea(stage, PurePosixPath(remote), LocalTransport())
    sent, runs = [], []
    area.transport.put = lambda local, path, put=area.transport.put: (sent.append(path), put(local, path))
    area.transport.run = lambda cmd, run=area.transport.run, **kw: (runs.append(cmd), run(cmd, **kw))[1]
    ids = [f"main-{i:04d}" for i in range(2 * area_mod.UNPACK_PART + 3)]
    area.upload({tid: Tree(texts=[(".mso/job.sh", f"echo {tid}\n")]) for tid in ids})
    assert len(sent) == 2 and len(runs) == 2, "two archives, one command unpacks both"
    assert all((remote / tid / ".mso" / "job.sh").read_text() == f"echo {tid}\n" for tid in ids)
    assert sorted(p.name for p in remote.iterdir()) == ids, "no archive left behind"
    assert area.prepared() == set(ids)


def test_a_part_that_fails_to_unpack_fails_the_upload(tmp_path: Path) -> None:
    stage, remote = tmp_path / "stage", tmp_path / "remote"
    area = area_mod.RemoteArea(stage, PurePosixPath(remote), LocalTransport())
    put = area.transport.put
    area.transport.put = lambda local, path: (put(local, path), path.endswith("-0250.tgz")
                                              and Path(path).write_bytes(b"not gzip"))
    ids = [f"main-{i:04d}" for i in range(4 * area_mod.UNPACK_PART)]
    with pytest.raises(MsoError, match="unpacking the task dirs"):
        area.upload({tid: Tree(texts=[(".mso/job.sh", "true\n")]) for tid in ids})
    assert area.prepared() == set(), "nothing counted as in place"
    assert not list(remote.glob(".upload-*")), "the archives are removed all the same"


def test_parts_are_consecutive_and_even() -> None:
    part = area_mod.UNPACK_PART
    assert area_mod._parts(["a"]) == [["a"]]
    ids = [str(i) for i in range(2 * part - 1)]
    assert area_mod._parts(ids) == [ids], "below two parts' worth: one archive"
    ids = [str(i) for i in range(10 * part + 1)]
    parts = area_mod._parts(ids)
    assert len(parts) == area_mod.UNPACKERS and sum(parts, []) == ids
    assert max(map(len, parts)) - min(map(len, parts)) <= area_mod.UNPACKERS


def test_prepared_tasks_survive_a_line_cut_by_a_crash(tmp_path: Path) -> None:
    area = area_mod.LocalArea(tmp_path / "run")
    area.upload({"main-0000": Tree(texts=[(".mso/job.sh", "true\n")])})
    with open(tmp_path / "run" / area_mod.PREPARED, "a") as fh:
        fh.write("main-00")   # the crash came in the middle of the line
    assert area.prepared() == {"main-0000"}
    assert (tmp_path / "run" / "main-0000" / ".mso" / "job.sh").read_text() == "true\n"


def test_an_output_linking_out_of_the_work_dir_is_refused(tmp_path: Path) -> None:
    stage, remote = tmp_path / "stage", tmp_path / "remote"
    (remote / "t1" / "out").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("not the task's")
    (remote / "t1" / "out" / "x.dat").symlink_to(tmp_path / "secret.txt")
    (remote / "t1" / ".mso").mkdir()
    (remote / "t1" / ".mso" / "exit_code").write_text("0\n")
    left = area_mod.RemoteArea(stage, PurePosixPath(remote), LocalTransport()).fetch([_task("t1")])
    assert left["t1"].refused == ["out/x.dat"] and left["t1"].records.exit_code == 0
    got = collect.collect(_task("t1"), stage / "t1", tmp_path / "results", Secrets(), True, left["t1"])
    assert got.refused == ["out/x.dat"] and "out/*.dat" not in got.missing
    assert not (tmp_path / "results" / "out").exists()
