"""The same repository gives byte-identical Markdown, wherever and whenever it is built."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.book.conftest import copy_repo
from tests.conftest import mso


def _markdown(repo: Path) -> dict[str, str]:
    docs = repo / ".mso/book/docs"
    return {p.relative_to(docs).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(docs.rglob("*.md"))}


def test_two_builds_give_identical_pages(built: Path, tmp_path: Path) -> None:
    first = _markdown(built)
    again = mso("book", "build", "--site", str(tmp_path / "site"), repo=built)
    assert again.returncode == 0, again.stderr
    assert _markdown(built) == first
    assert len(first) >= 20


def test_a_copy_elsewhere_gives_identical_pages(built: Path, tmp_path: Path) -> None:
    repo = copy_repo(built, tmp_path / "somewhere" / "else")
    done = mso("book", "build", repo=repo)
    assert done.returncode == 0, done.stderr
    assert _markdown(repo) == _markdown(built)
