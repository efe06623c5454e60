"""Run pages made once: a run's Markdown (and later its HTML) kept under the book's cache by the
hash of everything the page is made from, so a rebuild generates only the runs that changed.

A finished run's folder does not change, yet generating its page (logs read, tables made) and
converting it to HTML cost 30-50 ms a run: a book of 10000 runs spent minutes on pages that were
the same as last time. The key covers the run's folder (run.json's bytes, every file's size and
mtime), what the page shows of the catalogue (its experiment, application, datasets and
infrastructure as declared, the experiment's run ids) and the code that writes pages.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from runner.book import plots
from runner.book.context import Context
from runner.book.pages import runs as run_pages
from runner.results.book_paths import run_page
from runner.results.records import Run

FORMAT = 1   # bump when what an entry holds changes


@dataclass(frozen=True)
class OutsidePage:
    """A page rendered outside mkdocs' page loop (runner/book/outside.py): its docs path, the key
    of its content, its Markdown file, the files it links (a page with files owns its folder in
    the site) and whether search indexes it."""

    path: str
    key: str
    markdown: Path
    files: tuple[tuple[str, Path | str], ...] = ()   # (docs path, source file) as Page.files
    svgs: tuple[str, ...] = ()                 # keys of plots it shows (drawn into the plot cache)
    searchable: bool = False


def pages(ctx: Context, cache: Path, plot_cache: Path) -> list[OutsidePage]:
    """Every run's page from `cache`, generating (and keeping) those not in it."""
    catalogue = {name: _catalogue(ctx, name) for name in ctx.runs}
    return [_page(ctx, run, page_key(ctx, run, catalogue[run.experiment]), cache, plot_cache)
            for run in ctx.all_runs]


def _page(ctx: Context, run: Run, key: str, cache: Path, plot_cache: Path) -> OutsidePage:
    md, meta = cache / f"{key}.md", cache / f"{key}.json"
    if not (md.is_file() and meta.is_file()):
        page = run_pages.page(ctx, run)
        drawn = plots.render_all(page.plots, plot_cache)
        put(md, page.text().encode("utf-8"))
        put(meta, json.dumps({"files": [[d, src.relative_to(run.folder).as_posix()]
                                        for d, src in page.files],
                              "svgs": sorted(drawn)}).encode())
    found, top = json.loads(meta.read_text("utf-8")), str(run.folder)
    return OutsidePage(run_page(run.experiment, run.run_id), key, md,
                       tuple((d, f"{top}/{src}") for d, src in found["files"]),
                       tuple(found["svgs"]))


def page_key(ctx: Context, run: Run, catalogue: str) -> str:
    """The hash of what the run's page is made from (`catalogue`: its experiment's part)."""
    r = run.record
    facts = [FORMAT, code_hash(), ctx.site_name, _folder(run), catalogue,
             repr(ctx.repo.applications.get(r.application.get("name"))),
             repr(ctx.infrastructures.get(r.infrastructure.get("name"))),
             [repr(ctx.repo.datasets.get(n)) for n in sorted({*r.datasets, *r.published})]]
    return hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()[:32]


def _folder(run: Run) -> list:
    """The run folder as files, sizes and times (run.json by its bytes: it changes in place)."""
    found, top = [], str(run.folder)
    for rel in sorted(run.files):
        st = os.stat(f"{top}/{rel}")
        found.append([rel, st.st_size, st.st_mtime_ns])
    record = run.folder / "run.json"
    return [found, hashlib.sha256(record.read_bytes()).hexdigest() if record.is_file() else ""]


def _catalogue(ctx: Context, experiment: str) -> str:
    """The experiment as declared and its runs' ids (pages link runs they name)."""
    ids = [r.run_id for r in ctx.runs.get(experiment, ())]
    return hashlib.sha256(repr((ctx.repo.experiments.get(experiment), ids)).encode()).hexdigest()


@lru_cache(maxsize=1)
def code_hash() -> str:
    """The hash of the code that writes pages (the book, what it reads results with, and the
    placement words of run pages)."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for folder in (here, *(here.parent / name for name in ("results", "logs", "placement"))):
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".css", ".md") and path.is_file():
                digest.update(path.relative_to(here.parent).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def put(path: Path, data: bytes) -> None:
    """Write a cache file whole or not at all (no fsync: a cache may be lost, never torn)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def prune(cache: Path, keep: set[str]) -> None:
    """Remove the cache's entries whose key is not in `keep` (runs gone or changed)."""
    if not cache.is_dir():
        return
    for entry in os.scandir(cache):
        if entry.is_file() and entry.name.split(".", 1)[0].split("-", 1)[0] not in keep:
            os.unlink(entry.path)
