"""Stage-in onto a local infrastructure, for real: datasets on the WebDAV and HTTP remotes and in
the repository go through the runner's cache into the work root's cache, verified, and reach
every task as read-only hard links; a second run moves nothing; a server that dies mid-transfer
leaves no partial file in either cache."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, mso, nothing_started
from tests.data.conftest import Remotes
from tests.data.stagein_helpers import (add_reader, experiment, file_dataset, flipped,
                                        folder_dataset, outputs, record, sha)

pytestmark = pytest.mark.integration


def test_local_run_from_webdav_http_and_the_repository(example: Path, remotes: Remotes) -> None:
    repo = example
    add_reader(repo)
    field = file_dataset(repo, remotes, "field", os.urandom(3000))
    tree = folder_dataset(repo, remotes, "tree", {"a.txt": b"alpha\n", "sub/b.bin": b"\0beta"})
    (repo / "datasets" / "data" / "set" / "deep").mkdir(parents=True)
    (repo / "datasets" / "data" / "set" / "one.txt").write_text("one\n")
    (repo / "datasets" / "data" / "set" / "deep" / "two.txt").write_text("two\n")
    (repo / "datasets" / "set.yaml").write_text(
        "name: set\ndescription: a folder in the repository\nlocation: datasets/data/set/\n")
    page = os.urandom(500)
    (remotes.http / "page.bin").write_bytes(page)
    (repo / "datasets" / "page.yaml").write_text(
        f"name: page\ndescription: a plain URL\nlocation: {remotes.http_url}/page.bin\n"
        f"sha256: {sha(page)}\n")
    experiment(repo, "reads", "local", 3, {"a": "field", "b": "tree", "c": "set", "d": "page"})

    first = mso("run", "reads", repo=repo)
    assert first.returncode == 0, first.stderr
    rec = record(repo, "reads")
    staged = rec["staged"]["local"]
    assert {n: e["route"] for n, e in staged.items()} == dict.fromkeys(
        ("field", "tree", "set", "page"), "local")
    assert staged["field"]["sha256"] == field and staged["tree"]["sha256"] == tree
    assert staged["field"]["bytes"] == 3000 and staged["page"]["sha256"] == sha(page)
    assert "stage-in: field on local: 2.9 KiB linked in" in first.stderr
    for out in outputs(repo, rec):
        got = {Path(p).parts[1]: v for p, v in out.items()}
        assert {k: v["sha256"] for k, v in got.items()} == {
            "a": field, "b": tree, "c": staged["set"]["sha256"], "d": sha(page)}
        assert not any(v["writable"] for v in got.values()), "inputs are read-only"
    work = repo / ".mso" / "work" / ".cache" / "sha256"
    assert (work / field).read_bytes() == (remotes.webdav / "field.bin").read_bytes()
    assert (work / field).stat().st_ino == (repo / ".mso" / "cache" / "sha256" / field).stat().st_ino
    assert not list(work.glob("*.part")) and not list(work.parent.parent.glob("run-*"))

    second = mso("run", "reads", "--force", repo=repo)
    assert second.returncode == 0, second.stderr
    again = record(repo, "reads")
    assert again["run_id"] != rec["run_id"]
    assert {e["route"] for e in again["staged"]["local"].values()} == {"cached"}
    assert sum(e["bytes"] for e in again["staged"]["local"].values()) == 0
    assert "stage-in: field on local: in the cache, 0 bytes moved" in second.stderr


def test_a_flipped_byte_is_caught_and_nothing_is_written(example: Path, remotes: Remotes) -> None:
    repo = example
    add_reader(repo, one_input=True)
    good, bad = flipped(repo, remotes, "field", 2000, 1000)
    experiment(repo, "reads", "local", 2, {"a": "field"})
    proc = mso("run", "reads", repo=repo)
    assert proc.returncode == 1
    assert "field" in proc.stderr and good in proc.stderr and bad in proc.stderr
    assert "Traceback" not in proc.stderr
    assert nothing_started(repo), "no run record, no work dir"
    cache = repo / ".mso" / "cache" / "sha256"
    assert not [p for p in cache.iterdir() if not p.name.endswith(".lock")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(folder: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(["rclone", "serve", "webdav", str(folder), "--addr",
                             f"127.0.0.1:{port}", "--dir-cache-time", "0s", "--config",
                             "/dev/null"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("rclone serve webdav did not start")


def test_server_stopped_mid_transfer(example: Path, tmp_path: Path) -> None:
    """Our own WebDAV server, a client slowed to 8 MiB/s, the server killed after a second:
    rclone retries, then mso fails clearly, and neither cache holds a partial file; with the
    server back, the next run completes."""
    repo, served, port = example, tmp_path / "served", _free_port()
    served.mkdir()
    data = os.urandom(32 << 20)   # more than the sockets buffer
    (served / "big.bin").write_bytes(data)
    add_reader(repo, one_input=True)
    (repo / "datasets" / "big.yaml").write_text(
        f"name: big\ndescription: 32 MiB\nlocation: slow:big.bin\nsha256: {sha(data)}\n"
        f"credentials:\n  RCLONE_CONFIG_SLOW_TYPE: webdav\n"
        f"  RCLONE_CONFIG_SLOW_URL: http://127.0.0.1:{port}/\n")
    experiment(repo, "reads", "local", 1, {"a": "big"})
    server = _serve(served, port)
    try:
        run = subprocess.Popen(mso_argv(repo), env={**os.environ, "RCLONE_BWLIMIT": "8M",
                                                    "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        part = repo / ".mso" / "cache" / "sha256" / f"{sha(data)}.part" / "data"
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert part.exists(), "the transfer started"
        time.sleep(1)
        server.kill()
        server.wait()
        out, err = run.communicate(timeout=120)
    finally:
        server.kill()
    assert run.returncode == 1, err
    assert "big" in err and "Traceback" not in err and "slow" in err
    assert nothing_started(repo)
    leftovers = [p.name for p in (repo / ".mso").rglob("*") if p.is_file()
                 and not p.name.endswith((".lock", ".json"))]
    assert leftovers == [], "no partial file in the runner's cache or the work root's"

    server = _serve(served, port)
    try:
        again = mso("run", "reads", repo=repo)
    finally:
        server.kill()
    assert again.returncode == 0, again.stderr
    assert record(repo, "reads")["staged"]["local"]["big"]["bytes"] == 32 << 20


def mso_argv(repo: Path) -> list[str]:
    return [sys.executable, "-m", "runner", "-C", str(repo), "run", "reads"]
