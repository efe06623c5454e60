"""Two fresh clones of one repository, at different paths, build byte-identical sites; run pages,
rendered outside mkdocs' page loop, are the pages mkdocs itself would have made."""

from __future__ import annotations

import gzip
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


def _as_mkdocs_makes_them(repo: Path, tmp_path: Path) -> Path:
    """The site mkdocs makes of the repository's docs folder with nothing excluded (the run
    files, which only mso's site holds, put back into the docs)."""
    docs = tmp_path / "docs"
    shutil.copytree(repo / WORK / "docs", docs)
    for path in (repo / "site" / "runs").rglob("*"):
        if path.is_file() and path.name != "index.html":
            rel = path.relative_to(repo / "site")
            (docs / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, docs / rel)
    messages, _ = run_mkdocs(repo / WORK / "mkdocs.yml", False, site_dir=str(tmp_path / "all"),
                             docs_dir=str(docs))
    assert not [m for m in messages if m.startswith("warning")], messages
    return tmp_path / "all"


def _same_pages(site: Path, theirs: Path, pages: list[str]) -> None:
    assert pages
    for rel in pages:
        assert (site / rel).read_bytes() == (theirs / rel).read_bytes(), rel
    assert not [p for p in site.rglob("*") if shell.FOLDER in p.as_posix()]   # placeholders stay out


def test_outside_pages_are_what_mkdocs_would_make(built: Path, tmp_path: Path) -> None:
    """Run and experiment pages and their search entries, against mkdocs rendering them all."""
    theirs, site = _as_mkdocs_makes_them(built, tmp_path), built / "site"
    pages = sorted(p.relative_to(site).as_posix() for p in [*(site / "runs").glob("*/*/index.html"),
                                                           *(site / "experiments").glob("*.html")])
    assert len(pages) == 2 + 3 + 1   # two runs, three experiments and the index
    _same_pages(site, theirs, pages)
    ours, all_ = (json.loads((s / "search/search_index.json").read_text())["docs"] for s in (site, theirs))
    key = lambda e: json.dumps(e, sort_keys=True)   # noqa: E731
    assert not [e for e in ours if shell.FOLDER in e["location"]]   # placeholders stay out
    all_ = [e for e in all_ if shell.FOLDER not in e["location"]]
    assert sorted(ours, key=key) == sorted(all_, key=key)
    assert any(e["location"].startswith("experiments/heat-sweep") for e in ours)


def test_directory_urls_and_the_sitemap(built: Path, tmp_path: Path) -> None:
    """x/ addresses: outside pages at experiments/<name>/index.html as mkdocs makes them, and
    the sitemap lists the experiments at their own address (run pages were never in it)."""
    repo = copy_repo(built, tmp_path / "repo")
    cfg = repo / "mkdocs.yml"
    cfg.write_text(cfg.read_text().replace("use_directory_urls: false", "use_directory_urls: true")
                   + "site_url: https://lab.example.org/book/\n")
    done = mso("book", "build", "--strict", repo=repo)
    assert done.returncode == 0, done.stderr
    site, theirs = repo / "site", _as_mkdocs_makes_them(repo, tmp_path / "mkdocs")
    pages = sorted(p.relative_to(site).as_posix() for p in [*(site / "runs").glob("*/*/index.html"),
                                                           *(site / "experiments").glob("*/index.html")])
    assert "experiments/heat-sweep/index.html" in pages
    _same_pages(site, theirs, pages)
    xml = (site / "sitemap.xml").read_text()
    for name in ("heat-sweep", "heat-sweep-cluster"):
        assert f"<loc>https://lab.example.org/book/experiments/{name}/</loc>" in xml
    assert shell.FOLDER not in xml and "<loc>https://lab.example.org/book/experiments/</loc>" in xml
    assert gzip.decompress((site / "sitemap.xml.gz").read_bytes()).decode() == xml


def test_a_rebuild_reuses_every_run_and_experiment_page(built: Path) -> None:
    html = sorted((built / WORK / "html").glob("*.html"))
    before = {p: p.stat().st_mtime_ns for p in html}
    done = mso("book", "build", repo=built)
    assert done.returncode == 0, done.stderr
    assert {p: p.stat().st_mtime_ns for p in html} == before and len(html) == 2 + 3
