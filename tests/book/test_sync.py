"""The docs folder is brought up to date in place: stale files go, unchanged ones stay untouched."""

from __future__ import annotations

from pathlib import Path

from runner.book.sync import sync


def test_sync_writes_links_and_removes_stale_files(tmp_path: Path) -> None:
    docs, src = tmp_path / "docs", tmp_path / "source.txt"
    src.write_text("result")
    sync(docs, {"a/page.md": b"# A\n", "runs/x/out.txt": src, "old/gone.md": b"old"})
    assert (docs / "a/page.md").read_bytes() == b"# A\n"
    assert (docs / "runs/x/out.txt").read_text() == "result"
    kept = (docs / "a/page.md").stat()

    sync(docs, {"a/page.md": b"# A\n", "runs/x/out.txt": src, "b.md": b"new"})
    assert not (docs / "old").exists(), "a stale folder stayed"
    assert (docs / "b.md").read_bytes() == b"new"
    again = (docs / "a/page.md").stat()
    assert (again.st_ino, again.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns)


def test_sync_never_writes_through_a_link_to_a_source(tmp_path: Path) -> None:
    docs, src = tmp_path / "docs", tmp_path / "handwritten.md"
    src.write_text("mine")
    sync(docs, {"page.md": src})
    sync(docs, {"page.md": b"generated"})
    assert src.read_text() == "mine"
    assert (docs / "page.md").read_text() == "generated"


def test_sync_replaces_a_symlink_planted_in_the_folder(tmp_path: Path) -> None:
    docs, outside = tmp_path / "docs", tmp_path / "outside.txt"
    outside.write_text("not yours")
    docs.mkdir()
    (docs / "page.md").symlink_to(outside)
    (docs / "stray").symlink_to(outside)
    sync(docs, {"page.md": b"page"})
    assert outside.read_text() == "not yours"
    assert (docs / "page.md").read_text() == "page" and not (docs / "page.md").is_symlink()
    assert not (docs / "stray").exists() and not (docs / "stray").is_symlink()


def test_sync_leaves_kept_folders_unlooked_and_untouched(tmp_path: Path) -> None:
    site = tmp_path / "site"
    sync(site, {"runs/a/index.html": b"a", "runs/a/t/log.txt": b"log", "runs/b/index.html": b"b",
                "index.html": b"home"})
    (site / "runs/a/t/log.txt").chmod(0o400)
    before = (site / "runs/a/t/log.txt").stat()
    sync(site, {"index.html": b"home2", "runs/c/index.html": b"c"}, keep={"runs/a"})
    assert (site / "runs/a/t/log.txt").stat() == before   # not removed, not rewritten
    assert not (site / "runs/b").exists() and (site / "runs/c/index.html").read_bytes() == b"c"
    assert (site / "index.html").read_bytes() == b"home2"
    sync(site, {"index.html": b"home2"})
    assert not (site / "runs").exists()   # once no longer kept, it goes like any stale folder
