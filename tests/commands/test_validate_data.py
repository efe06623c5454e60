"""`mso validate --data`: data edited on disk is noticed, by `validate`, `plan` and `run` alike."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from runner import hashing
from runner.declarations import datacheck, repository
from tests.conftest import ROOT, mso

DATA = "datasets/data/gaussian-bump.json"
DECL = "datasets/gaussian-bump.yaml"


def settle(path: Path) -> None:
    """Date a file (or every file of a folder) a minute back, as data that sat on disk."""
    past = time.time_ns() - 60 * 10**9
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, ns=(past, past))


def edit_data(repo: Path) -> str:
    """Change the dataset's file; returns its new sha256."""
    path = repo / DATA
    path.write_text(path.read_text().replace("0.", "0.0", 1))
    return hashing.tree(path)


def test_unchanged_data_is_valid(example: Path) -> None:
    result = mso("validate", "--data", repo=example, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mso: 6 files and the data of 1 dataset checked, all valid" in result.stderr


def test_changed_data_is_named_with_what_to_do(example: Path) -> None:
    assert mso("validate", repo=example, timeout=60).returncode == 0, "only --data reads data"
    new = edit_data(example)
    result = mso("validate", "--data", repo=example, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{DECL}:5:9: sha256: dataset 'gaussian-bump': {DATA} changed"), line
    assert f"git checkout -- {DATA}" in line and f"set `sha256: {new}`" in line
    assert "`size: " in line  # the size changed too
    as_json = json.loads(mso("validate", "--data", "--json", repo=example, timeout=60).stdout)
    assert not as_json["ok"] and as_json["datasets"] == 1
    assert [e["path"] for e in as_json["errors"]] == [DECL]


def test_plan_and_run_refuse_changed_data_with_one_line(example: Path) -> None:
    edit_data(example)
    for args in (("plan",), ("run", "heat-sweep", "--force")):
        result = mso(*args, repo=example, timeout=120)
        assert result.returncode == 1, result.stdout + result.stderr
        out = result.stdout + result.stderr
        assert len([ln for ln in out.splitlines() if "gaussian-bump" in ln]) == 1, out
        assert "Traceback" not in out
    assert not (example / "results").exists(), "no task ran"


def test_a_folder_dataset_is_checked_whole(example: Path) -> None:
    folder = example / "datasets" / "data" / "fields"
    folder.mkdir()
    (folder / "a.txt").write_text("a\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.txt").write_text("b\n")
    (example / "datasets" / "fields.yaml").write_text(
        "name: fields\ndescription: two files\nlocation: datasets/data/fields\n"
        f"sha256: {hashing.tree(folder)}\n")
    assert mso("validate", "--data", repo=example, timeout=60).returncode == 0
    (folder / "sub" / "b.txt").write_text("c\n")  # same size
    result = mso("validate", "--data", repo=example, timeout=60)
    assert result.returncode == 1
    assert "dataset 'fields': datasets/data/fields changed" in result.stdout
    assert f"sha256: {hashing.tree(folder)}" in result.stdout


def test_hashes_are_cached_by_size_and_mtime(example: Path) -> None:
    settle(example / DATA)
    repo = repository.load_valid(example, data=True)
    cache = json.loads((example / datacheck.CACHE).read_text())
    entry = cache["entries"][DATA]
    assert entry["sha256"] == hashing.tree(example / DATA)
    # the cache is believed while size and mtime hold: a forged entry is served...
    entry["sha256"] = "0" * 64
    (example / datacheck.CACHE).write_text(json.dumps(cache))
    assert [c.sha256 for c in datacheck.changed(repo)] == ["0" * 64]
    # ...and a new mtime makes it read the file again
    os.utime(example / DATA, ns=(time.time_ns() - 30 * 10**9,) * 2)
    assert datacheck.changed(repo) == []
    assert json.loads((example / datacheck.CACHE).read_text())["entries"][DATA]["sha256"] != "0" * 64


def test_fresh_files_and_a_broken_cache_are_not_trusted(example: Path) -> None:
    (example / datacheck.CACHE).parent.mkdir(parents=True)
    (example / datacheck.CACHE).write_text("{not json")
    os.utime(example / DATA)  # just written: its mtime may not tell the next change
    assert datacheck.content_hash(example, DATA) == hashing.tree(example / DATA)
    assert (example / datacheck.CACHE).read_text() == "{not json", "nothing settled to cache"
    assert datacheck.content_hash(example, "datasets/data/missing") is None


def test_the_cache_is_ignored_by_git_here_and_in_a_new_repository(tmp_path: Path) -> None:
    made = mso("init", "lab", repo=tmp_path)
    assert made.returncode == 0, made.stderr
    for repo in (ROOT, tmp_path / "lab"):
        ignored = subprocess.run(["git", "-C", str(repo), "check-ignore", "-q",
                                  datacheck.CACHE.as_posix()])
        assert ignored.returncode == 0, f"{datacheck.CACHE} is not ignored in {repo}"
