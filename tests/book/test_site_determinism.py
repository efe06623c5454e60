"""Two fresh clones of one repository, at different paths, build byte-identical sites; run pages,
rendered outside mkdocs' page loop, are the pages mkdocs itself would have made."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from runner.book import shell
from runner.book.build import WORK, run_mkdocs
from tests.book.conftest import PRIVATE_LOCATION, copy_repo
from tests.conftest import mso


def _origin(ran: Path, dest: Path) -> Path:
    """A repository holding the declarations and results/ in one commit (as a pipeline leaves)."""
    repo = copy_repo(ran, dest)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "all"], check=True)
    return repo


def _clone(src: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(src), str(dest)], check=True)
    return dest


def _site(repo: Path) -> dict[str, str]:
    site = repo / "site"
    return {p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(site.rglob("*")) if p.is_file() and p.suffix in (".html", ".svg",
                                                                               ".xml", ".gz")}


def test_two_clones_build_identical_sites(ran: Path, tmp_path: Path) -> None:
    origin = _origin(ran, tmp_path / "origin")
    one = _clone(origin, tmp_path / "a" / "one")
    two = _clone(origin, tmp_path / "elsewhere" / "b" / "two")
    for repo in (one, two):
        done = mso("book", "build", repo=repo)
        assert done.returncode == 0, done.stderr
    first, second = _site(one), _site(two)
    assert any(p.startswith("runs/") for p in first) and "sitemap.xml.gz" in first
    assert first == second
    assert not any(shell.FOLDER in p for p in first)   # the shell stays out
    for path in (one / "site").rglob("*"):
        if path.is_file():
            assert PRIVATE_LOCATION.encode() not in path.read_bytes(), path


def test_outside_pages_are_what_mkdocs_would_make(built: Path, tmp_path: Path) -> None:
    """Run and experiment pages and their search entries, against mkdocs rendering them all
    (nothing excluded; the run files, which only the site holds, put back into the docs)."""
    docs = tmp_path / "docs"
    shutil.copytree(built / WORK / "docs", docs)
    for path in (built / "site" / "runs").rglob("*"):
        if path.is_file() and path.name != "index.html":
            rel = path.relative_to(built / "site")
            (docs / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, docs / rel)
    messages, _ = run_mkdocs(built / WORK / "mkdocs.yml", False, site_dir=str(tmp_path / "all"),
                             docs_dir=str(docs))
    assert not [m for m in messages if m.startswith("warning")], messages
    pages = sorted([*(built / "site" / "runs").glob("*/*/index.html"),
                    *(built / "site" / "experiments").glob("*.html")])
    assert len(pages) == 2 + 3 + 1   # two runs, three experiments and the index
    for page in pages:
        rel = page.relative_to(built / "site")
        assert page.read_bytes() == (tmp_path / "all" / rel).read_bytes(), rel
    ours, theirs = (json.loads((site / "search/search_index.json").read_text())["docs"]
                    for site in (built / "site", tmp_path / "all"))
    key = lambda e: json.dumps(e, sort_keys=True)   # noqa: E731
    assert not [e for e in ours if shell.FOLDER in e["location"]]   # placeholders stay out
    theirs = [e for e in theirs if shell.FOLDER not in e["location"]]
    assert sorted(ours, key=key) == sorted(theirs, key=key)
    assert any(e["location"].startswith("experiments/heat-sweep") for e in ours)


def test_a_rebuild_reuses_every_run_and_experiment_page(built: Path) -> None:
    html = sorted((built / WORK / "html").glob("*.html"))
    before = {p: p.stat().st_mtime_ns for p in html}
    done = mso("book", "build", repo=built)
    assert done.returncode == 0, done.stderr
    assert {p: p.stat().st_mtime_ns for p in html} == before and len(html) == 2 + 3
