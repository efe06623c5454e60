"""Stage-out against the real WebDAV remote: outputs past the small-output threshold (made small
here by MSO_SMALL_OUTPUT) go to the experiment's outputs.remote from a local run and from the
test cluster by both routes, checked by sha256 there; a changed byte on the remote is caught; a
remote that refuses the upload fails the task and leaves the output in the work dir."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest

from runner.data import rclone, stageout
from runner.declarations.models import EnvRef
from tests.conftest import mso

SMALL = {"MSO_SMALL_OUTPUT": "1000"}

MAKER_APP = """\
name: maker
version: "1"
description: Writes a large output and a small one.
command: [python3, make.py, "{n}"]
parameters:
  type: object
  properties:
    n: {type: integer, default: 5000}
outputs: [big.bin, small.txt]
"""

MAKER_PY = """\
import sys
n = int(sys.argv[1])
open("big.bin", "wb").write(bytes(range(256)) * (n // 256 + 1))
open("small.txt", "w").write("ok\\n")
"""


def add_maker(repo: Path) -> None:
    (repo / "applications" / "maker").mkdir(exist_ok=True)
    (repo / "applications" / "maker.yaml").write_text(MAKER_APP)
    (repo / "applications" / "maker" / "make.py").write_text(MAKER_PY)


def maker_experiment(repo: Path, name: str, remotes, infra: str = "local", extra: str = "",
                     credentials: str | None = None) -> None:
    creds = credentials or remotes.yaml("dav", indent=4).replace("credentials:", "  credentials:")
    (repo / "experiments" / f"{name}.yaml").write_text(
        f"name: {name}\napplication: maker@1\ninfrastructure: {infra}\nowners: [ana]\n"
        f"outputs:\n  remote: dav:{remotes.folder}/out\n  licence: CC-BY-4.0\n{creds}{extra}")


def only_run(repo: Path, name: str) -> tuple[Path, dict]:
    folder = next((repo / "results" / name).iterdir())
    return folder, json.loads((folder / "run.json").read_text())


def check_saved(repo: Path, name: str, remotes) -> None:
    folder, record = only_run(repo, name)
    assert record["state"] == "succeeded", record["tasks"][0].get("reason")
    outs = {o["path"]: o for o in record["tasks"][0]["outputs"]}
    run, task = record["run_id"], record["tasks"][0]["id"]
    assert outs["big.bin"]["stored"] == "remote"
    assert outs["big.bin"]["location"] == f"dav:{remotes.folder}/out/{run}/{task}/big.bin"
    on_disk = remotes.webdav / "out" / run / task
    assert (on_disk / "big.bin").read_bytes() == bytes(range(256)) * 20
    # the small one is in results/ and on the remote: the task's folder there is whole
    assert outs["small.txt"]["stored"] == "results"
    assert (folder / task / "small.txt").read_text() == (on_disk / "small.txt").read_text()
    assert not (folder / task / "big.bin").exists()
    assert remotes.password not in (folder / "run.json").read_text()


def test_a_large_output_goes_to_the_remote_from_a_local_run(counter: Path, remotes) -> None:
    add_maker(counter)
    maker_experiment(counter, "made", remotes)
    got = mso("run", "made", repo=counter, env=SMALL)
    assert got.returncode == 0, got.stdout + got.stderr
    check_saved(counter, "made", remotes)
    assert "saved to the outputs remote" in got.stdout + got.stderr
    assert not (counter / ".mso" / "work").exists() or not any((counter / ".mso" / "work").iterdir())


@pytest.mark.integration
@pytest.mark.parametrize("route", ["relayed", "direct"])
def test_a_large_output_goes_to_the_remote_from_the_cluster(on_cluster: Path, remotes,
                                                            route: str) -> None:
    add_maker(on_cluster)
    login = (on_cluster / "infrastructures" / "login.yaml").read_text()
    (on_cluster / "infrastructures" / "login.yaml").write_text(
        login + (f"data_access: {route}\n"))
    maker_experiment(on_cluster, "made", remotes, infra="login")
    got = mso("run", "made", repo=on_cluster, env=SMALL, timeout=240)
    assert got.returncode == 0, got.stdout + got.stderr
    check_saved(on_cluster, "made", remotes)
    # relayed: the file waited under .mso/stageout (gone now); direct: it never came here
    scratch = on_cluster / ".mso" / "stageout"
    assert (scratch.is_dir() and not any(scratch.iterdir())) if route == "relayed" \
        else not scratch.exists()


def test_a_remote_that_refuses_fails_the_task_and_keeps_the_output(counter: Path, remotes,
                                                                    monkeypatch) -> None:
    monkeypatch.setenv("MSO_TEST_WRONG_PASS", "bm90LXRoZS1wYXNzd29yZA")   # obscured junk
    add_maker(counter)
    creds = remotes.yaml("dav", indent=4).replace("credentials:", "  credentials:")
    creds = creds.replace("MSO_TEST_DAV_PASS", "MSO_TEST_WRONG_PASS")
    maker_experiment(counter, "made", remotes, credentials=creds)
    got = mso("run", "made", repo=counter, env=SMALL)
    assert got.returncode == 2, got.stdout + got.stderr
    _, record = only_run(counter, "made")
    task = record["tasks"][0]
    assert task["state"] == "failed"
    assert "not saved to the remote" in task["reason"] and "MSO_TEST_WRONG_PASS" in task["reason"]
    assert {o["path"]: o["stored"] for o in task["outputs"]}["big.bin"] == "workdir"
    assert (Path(record["work_dir"]) / task["id"] / "big.bin").exists()   # kept


def test_verify_catches_a_byte_changed_on_the_remote(remotes, tmp_path: Path) -> None:
    settings = rclone.Settings(remotes.credentials["dav"] | {
        "RCLONE_CONFIG_DAV_PASS": EnvRef("MSO_TEST_DAV_PASS")}, "test")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "big.bin").write_bytes(b"x" * 5000)
    from runner.fsutil import sha256_file
    digest = sha256_file(tmp_path / "t" / "big.bin")
    dest = f"dav:{remotes.folder}/check/big.bin"
    stageout.upload(stageout.Source(PurePosixPath(tmp_path / "t")), "big.bin", dest, settings)
    assert stageout.verify(dest, digest, settings) is None
    served = remotes.webdav / "check" / "big.bin"
    data = bytearray(served.read_bytes())
    data[1234] ^= 0x01
    served.write_bytes(bytes(data))
    problem = stageout.verify(dest, digest, settings)
    assert problem is not None and digest in problem and "does not match" in problem
    # store() keeps such an output in the work dir and says why
    target = stageout.Target(f"dav:{remotes.folder}/again", settings)
    entry = {"path": "big.bin", "size": 5000, "sha256": "0" * 64, "stored": "workdir"}
    problems = stageout.store([entry], stageout.Source(PurePosixPath(tmp_path / "t")), target,
                             "r", "t")
    assert entry["stored"] == "workdir" and "location" not in entry
    assert problems and "0" * 64 in problems[0]
