"""Folder manifests: inline or in the sidecar datasets/<name>.manifest, read when the repository is
loaded; a malformed sidecar or a manifest given twice is an error with its place; the identity of
a folder dataset is its manifest's hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from runner import hashing
from runner.declarations import manifest, repository
from runner.plan import resolve

A, B = hashlib.sha256(b"a\n").hexdigest(), hashlib.sha256(b"b\n").hexdigest()
ENTRY = "name: fields\ndescription: two files\nlocation: datasets/data/fields/\n"


@pytest.fixture
def fields(example: Path) -> Path:
    """The example repository with a folder dataset `fields` (a.txt, sub/b.txt) that
    heat-sweep reads instead of gaussian-bump (no manifest yet)."""
    folder = example / "datasets" / "data" / "fields"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a\n")
    (folder / "sub" / "b.txt").write_text("b\n")
    (example / "datasets" / "fields.yaml").write_text(ENTRY)
    exp = example / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("initial: gaussian-bump", "initial: fields"))
    return example


def errors(repo: Path) -> list[str]:
    return [e.render() for e in repository.load(repo).errors]


def test_the_sidecar_is_read_on_load(fields: Path) -> None:
    manifest.sidecar(fields, "fields").write_text(f"{B}  sub/b.txt\n{A}  a.txt\n")
    loaded = repository.load(fields)
    assert loaded.errors == []
    assert dict(loaded.repo.datasets["fields"].manifest) == {"a.txt": A, "sub/b.txt": B}
    assert "datasets/fields.manifest" not in loaded.files, "a sidecar is no declaration"


def test_inline_and_sidecar_give_the_same_record_and_identity(fields: Path) -> None:
    manifest.sidecar(fields, "fields").write_text(f"{A} *a.txt\n\n{B}  sub/b.txt\n")
    side = repository.load_valid(fields)
    manifest.sidecar(fields, "fields").unlink()
    (fields / "datasets" / "fields.yaml").write_text(
        ENTRY + f"manifest:\n  a.txt: {A}\n  sub/b.txt: {B}\n")
    inline = repository.load_valid(fields)
    assert dict(side.datasets["fields"].manifest) == dict(inline.datasets["fields"].manifest)
    expected = hashlib.sha256(f"{A}  a.txt\n{B}  sub/b.txt\n".encode()).hexdigest()
    for repo in (side, inline):
        plan = resolve.plan(repo, repo.experiments["heat-sweep"])
        assert plan.datasets["fields"] == expected


def test_a_folder_without_manifest_keeps_its_content_hash(fields: Path) -> None:
    repo = repository.load_valid(fields)
    plan = resolve.plan(repo, repo.experiments["heat-sweep"])
    assert plan.datasets["fields"] == hashing.tree(fields / "datasets" / "data" / "fields")


@pytest.mark.parametrize("body, line, said", [
    (f"{A}  a.txt\nnot a line\n", 2, "expected `<sha256>  <path inside the folder>`"),
    (f"{A}  /etc/passwd\n", 1, "expected `<sha256>  <path inside the folder>`"),
    (f"{A}  a.txt\n{B}  ../x\n", 2, "expected `<sha256>  <path inside the folder>`"),
    (f"{A}  a.txt\n{B}  a.txt\n", 2, "a.txt is listed twice"),
    (f"{A.upper()}  a.txt\n", 1, "expected `<sha256>  <path inside the folder>`"),
])
def test_a_malformed_sidecar_names_its_line(fields: Path, body: str, line: int, said: str) -> None:
    manifest.sidecar(fields, "fields").write_text(body)
    [error] = errors(fields)
    assert error.startswith(f"datasets/fields.manifest:{line}:1: {said}"), error
    assert "mso dataset add" in error


def test_an_empty_sidecar_is_an_error(fields: Path) -> None:
    manifest.sidecar(fields, "fields").write_text("\n")
    assert errors(fields) == ["datasets/fields.manifest: the manifest lists no file (delete it, "
                              "or list the folder's files)"]


def test_inline_and_sidecar_at_once_is_an_error(fields: Path) -> None:
    manifest.sidecar(fields, "fields").write_text(f"{A}  a.txt\n{B}  sub/b.txt\n")
    (fields / "datasets" / "fields.yaml").write_text(ENTRY + f"manifest: {{a.txt: {A}}}\n")
    [error] = errors(fields)
    assert error == ("datasets/fields.yaml:4:1: manifest: the manifest is given here and in "
                     "datasets/fields.manifest (keep one: delete datasets/fields.manifest or "
                     "this `manifest:`)")


def test_a_sidecar_that_is_not_text_is_an_error(fields: Path) -> None:
    manifest.sidecar(fields, "fields").write_bytes(b"\xff\xfe\x00")
    [error] = errors(fields)
    assert error.startswith("datasets/fields.manifest: cannot read the manifest"), error
