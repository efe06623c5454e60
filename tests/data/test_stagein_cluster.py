"""Stage-in onto the test cluster, for real: a dataset on the WebDAV remote reaches a Slurm
infrastructure directly (rclone on the host, `data_access: direct`) and an ssh one relayed (the
runner's cache, then SFTP), verified on the host; a 20-task sweep makes one transfer, whose one
copy every task reads through a hard link; a second run moves nothing; a flipped byte on the
remote stops the run before anything of it is written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import mso, nothing_started
from tests.data.conftest import Remotes
from tests.data.stagein_helpers import (add_reader, experiment, file_dataset, flipped,
                                        folder_dataset, outputs, record)

pytestmark = pytest.mark.integration
SWEEP = 20


def _routes(repo: Path) -> None:
    """`cluster` fetches directly; `login` (same host) relays into a work root of its own."""
    cluster = repo / "infrastructures" / "cluster.yaml"
    cluster.write_text(cluster.read_text() + "data_access: direct\n")
    login = repo / "infrastructures" / "login.yaml"
    login.write_text(re.sub(r"(work_root: \S+)", r"\1-login", login.read_text()))


def test_direct_and_relayed_once_per_run(on_cluster: Path, remotes: Remotes) -> None:
    repo = on_cluster
    _routes(repo)
    add_reader(repo, one_input=True)
    field = file_dataset(repo, remotes, "field", os.urandom(3000))
    tree = folder_dataset(repo, remotes, "tree", {"a.txt": b"alpha\n", "sub/b.bin": b"\0beta"})
    experiment(repo, "sweep", "cluster", SWEEP, {"a": "field"})
    experiment(repo, "relay", "login", 2, {"a": "tree"})

    first = mso("run", "sweep", "relay", repo=repo, timeout=300)
    assert first.returncode == 0, first.stderr
    sweep, relay = record(repo, "sweep"), record(repo, "relay")
    assert sweep["staged"]["cluster"]["field"] | {"seconds": 0} == {
        "sha256": field, "route": "direct", "bytes": 3000, "seconds": 0,
        "path": sweep["staged"]["cluster"]["field"]["path"]}
    assert re.search(r"/mso-work/[^/]+/\.cache/sha256/" + field + "$",
                     sweep["staged"]["cluster"]["field"]["path"])
    assert first.stderr.count("stage-in: field on cluster: 2.9 KiB moved directly in") == 1
    for out in outputs(repo, sweep):
        (seen,) = out.values()
        assert seen["sha256"] == field and not seen["writable"]
        # one copy on the host: the cache's entry, hard-linked into every task of the sweep
        assert seen["links"] >= SWEEP + 1, seen
    assert relay["staged"]["login"]["tree"]["route"] == "relayed"
    assert relay["staged"]["login"]["tree"]["sha256"] == tree
    assert all(list(o.values())[0]["sha256"] == tree for o in outputs(repo, relay))

    second = mso("run", "sweep", "relay", "--force", repo=repo, timeout=300)
    assert second.returncode == 0, second.stderr
    for name, infra in (("sweep", "cluster"), ("relay", "login")):
        staged = record(repo, name)["staged"][infra]
        assert [(e["route"], e["bytes"]) for e in staged.values()] == [("cached", 0)]
    assert "stage-in: field on cluster: in the cache, 0 bytes moved" in second.stderr


def test_a_flipped_byte_on_the_remote_starts_nothing(on_cluster: Path, remotes: Remotes) -> None:
    repo = on_cluster
    _routes(repo)
    add_reader(repo, one_input=True)
    good, bad = flipped(repo, remotes, "field", 3000, 7)
    experiment(repo, "sweep", "cluster", 3, {"a": "field"})
    proc = mso("run", "sweep", repo=repo, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    line = next(ln for ln in proc.stderr.splitlines() if good in ln)
    assert "dataset field" in line and bad in line and "cluster" in line
    assert nothing_started(repo), "no run record, no work dir"
