"""`mso dataset add PATH --name N` on a real repository, run as a process: a file gets its sha256,
a folder its manifest (inline, or a sidecar when it has many files), and the entry validates;
bad input is one line, exit 1, and nothing is written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from runner.declarations import manifest, repository
from runner.plan import resolve
from tests.conftest import mso


def entry(repo: Path, name: str) -> dict:
    return yaml.safe_load((repo / "datasets" / f"{name}.yaml").read_text())


def snapshot(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes()
            for p in (repo / "datasets").rglob("*") if p.is_file()}


def test_a_file_gets_its_sha256_and_size(example: Path) -> None:
    data = example / "datasets" / "data" / "grid.bin"
    data.write_bytes(bytes(range(256)) * 100)
    result = mso("dataset", "add", "datasets/data/grid.bin", "--name", "grid", "--licence",
                 "CC-BY-4.0", "--owner", "ana", "--owner", "ben", "--format", "bin",
                 "--description", "A grid.", repo=example, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "mso: datasets/grid.yaml written: datasets/data/grid.bin, 1 file, " \
                            "25.0 KiB\n"
    assert result.stderr == "", "no bar and nothing noisy when stderr is not a terminal"
    assert entry(example, "grid") == {
        "name": "grid", "description": "A grid.", "location": "datasets/data/grid.bin",
        "sha256": hashlib.sha256(data.read_bytes()).hexdigest(), "size": 25600,
        "format": "bin", "licence": "CC-BY-4.0", "visibility": "public", "owners": ["ana", "ben"]}
    assert mso("validate", "--data", repo=example, timeout=60).returncode == 0


def folder(repo: Path, n: int) -> Path:
    path = repo / "datasets" / "data" / "fields"
    (path / "sub").mkdir(parents=True)
    for i in range(n):
        (path / ("sub" if i % 2 else ".") / f"f{i:02d}.txt").write_text(f"{i}\n")
    return path


def test_a_small_folder_gets_an_inline_manifest(example: Path) -> None:
    path = folder(example, 3)
    result = mso("dataset", "add", str(path), "--name", "fields", "--private", "--access",
                 "write to ana", "--json", repo=example, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    said = json.loads(result.stdout)
    e = entry(example, "fields")
    assert e["location"] == "datasets/data/fields/" and e["size"] == 6
    assert e["manifest"] == {"f00.txt": hashlib.sha256(b"0\n").hexdigest(),
                             "sub/f01.txt": hashlib.sha256(b"1\n").hexdigest(),
                             "f02.txt": hashlib.sha256(b"2\n").hexdigest()}
    assert e["visibility"] == "private" and e["access"] == "write to ana"
    assert said == {"ok": True, "entry": "datasets/fields.yaml", "manifest": None,
                    "location": "datasets/data/fields/", "size": 6, "files": 3,
                    "content": manifest.digest(e["manifest"])}
    repo = repository.load_valid(example, data=True)
    assert dict(repo.datasets["fields"].manifest) == e["manifest"]


def test_a_large_folder_gets_a_sidecar_and_its_identity(example: Path) -> None:
    path = folder(example, 25)
    result = mso("dataset", "add", "datasets/data/fields/", "--name", "fields", repo=example,
                 timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith(", 25 files, 65 B, manifest in datasets/fields.manifest\n")
    assert "manifest" not in entry(example, "fields")
    side = manifest.sidecar(example, "fields").read_text()
    assert len(side.splitlines()) == 25 and "  sub/f01.txt\n" in side
    exp = example / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("initial: gaussian-bump", "initial: fields"))
    repo = repository.load_valid(example, data=True)
    plan = resolve.plan(repo, repo.experiments["heat-sweep"])
    assert plan.datasets["fields"] == hashlib.sha256(side.encode()).hexdigest()
    (path / "f00.txt").write_text("changed\n")
    assert mso("validate", "--data", repo=example, timeout=60).returncode == 1
    again = mso("dataset", "add", "datasets/data/fields/", "--name", "fields", "--force",
                repo=example, timeout=60)
    assert again.returncode == 0, again.stderr
    assert mso("validate", "--data", repo=example, timeout=60).returncode == 0


def test_force_keeps_what_people_wrote_and_drops_a_stale_sidecar(example: Path) -> None:
    path = folder(example, 25)
    assert mso("dataset", "add", str(path), "--name", "fields", "--owner", "ana",
               "--description", "Fields.", repo=example, timeout=60).returncode == 0
    for p in list(path.rglob("f1*.txt")) + list(path.rglob("f2*.txt")):
        p.unlink()
    result = mso("dataset", "add", str(path), "--name", "fields", "--force", repo=example,
                 timeout=60)
    assert result.returncode == 0, result.stderr
    e = entry(example, "fields")
    assert e["description"] == "Fields." and e["owners"] == ["ana"] and len(e["manifest"]) == 10
    assert not manifest.sidecar(example, "fields").exists()
    assert repository.load(example).errors == []


@pytest.mark.parametrize("args, said", [
    (("datasets/data/nope.json", "--name", "x"), "mso: datasets/data/nope.json: no such file or "
                                                 "folder"),
    (("/etc/hostname", "--name", "x"), "mso: /etc/hostname is outside the repository: copy it in "
                                       "(e.g. under datasets/data/) and add that path, or put it "
                                       "on a remote and add REMOTE:PATH"),
    (("datasets/data/gaussian-bump.json", "--name", "gaussian-bump"),
     "mso: dataset 'gaussian-bump' exists (datasets/gaussian-bump.yaml): give --force to compute "
     "it again, or choose another --name"),
    (("datasets/data/gaussian-bump.json", "--name", "Bad Name"),
     "mso: --name 'Bad Name': a dataset's name is lower-case letters, digits, '-' and '_', "
     "starting with a letter or digit (at most 64)"),
    (("nowhere:data/x", "--name", "x"),
     "mso: the rclone remote 'nowhere' is not configured here: set RCLONE_CONFIG_NOWHERE_TYPE "
     "and its other settings (RCLONE_CONFIG_NOWHERE_URL, RCLONE_CONFIG_NOWHERE_USER, "
     "RCLONE_CONFIG_NOWHERE_PASS ...) in the environment; the entry names them, never their "
     "values"),
    (("my-lab:data/x", "--name", "x"),
     "mso: the rclone remote 'my-lab' cannot be configured by RCLONE_CONFIG_* variables: name it "
     "with letters, digits and _ only"),
    ((".", "--name", "x"), "mso: .: give a file or folder inside the repository"),
])
def test_bad_input_is_one_line_and_writes_nothing(example: Path, args: tuple, said: str) -> None:
    before = snapshot(example)
    result = mso("dataset", "add", *args, repo=example, timeout=60, cwd=example)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == said + "\n" and result.stdout == ""
    assert snapshot(example) == before


def test_an_empty_folder_is_refused(example: Path) -> None:
    (example / "datasets" / "data" / "empty").mkdir()
    result = mso("dataset", "add", "datasets/data/empty", "--name", "empty", repo=example,
                 timeout=60)
    assert result.returncode == 1
    assert result.stderr == ("mso: datasets/data/empty/ holds no file: a folder dataset needs at "
                             "least one\n")
    assert not (example / "datasets" / "empty.yaml").exists()
