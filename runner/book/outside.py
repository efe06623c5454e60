"""Run pages, rendered outside mkdocs' page loop, and the site put together from both.

mkdocs builds the catalogue (home, usage, index pages, applications, datasets, infrastructures,
experiments, guides) into a staging folder, with run pages excluded from its loop; each run
page is then converted with the book's Markdown extensions and set in the page shell
(runner/book/shell.py), once per content and shell (kept in the cache by both hashes). The site
folder is then made to hold the staging folder's files, the run pages and the files they link,
all as hard links, touching only what changed.
"""

from __future__ import annotations

import gzip
import multiprocessing
import os
import re
from pathlib import Path
from typing import Any, Iterable

from runner.book import runcache, shell, sync
from runner.book.runcache import RunPage

PARALLEL_FROM = 64   # pages to convert before a process per core pays for itself


def render(runs: Iterable[RunPage], staging: Path, converter: shell.Converter,
           cache: Path) -> dict[str, Path]:
    """The HTML file of every run page (site path -> file in `cache`), converting the new ones."""
    frame = shell.read(staging, converter)
    found, todo = {}, []
    for run in runs:
        html = cache / f"{run.key}-{frame.key}.html"
        found[run.path[: -len(".md")] + ".html"] = html
        if not html.is_file():
            todo.append((run.path, str(run.markdown), str(html)))
    _convert_all(todo, frame, converter)
    runcache.prune(cache, {run.key for run in runs})
    return found


def _convert_all(todo: list[tuple[str, str, str]], frame: shell.Shell,
                 converter: shell.Converter) -> None:
    global _JOB
    if len(todo) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        for item in todo:
            _convert((frame, converter), item)
        return
    _JOB = (frame, converter)   # handed to the forked workers by the fork itself
    try:
        with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
            pool.map(_convert_forked, todo, chunksize=16)
    finally:
        _JOB = None


_JOB: Any = None


def _convert_forked(item: tuple[str, str, str]) -> None:
    _convert(_JOB, item)


def _convert(job: tuple[shell.Shell, shell.Converter], item: tuple[str, str, str]) -> None:
    frame, converter = job
    path, markdown, html = item
    title, anchor, content, toc = converter.convert(Path(markdown).read_text("utf-8"))
    runcache.put(Path(html), frame.wrap(path, title, anchor, content, toc))


def assemble(site: Path, staging: Path, html: dict[str, Path], runs: Iterable[RunPage]) -> None:
    """Make `site` hold the staging folder's files (the shell aside), the run pages and the
    files they link."""
    wanted: dict[str, sync.Content] = {}
    for rel in _files(staging):
        if not rel.startswith(shell.FOLDER + "/"):
            wanted[rel] = staging / rel
    wanted.update(html)
    for run in runs:
        wanted.update(run.files)
    for name in ("sitemap.xml", "sitemap.xml.gz"):
        wanted.pop(name, None)
    if (staging / "sitemap.xml").is_file():
        xml = _SHELL_URL.sub(b"", (staging / "sitemap.xml").read_bytes())
        wanted["sitemap.xml"] = xml
        wanted["sitemap.xml.gz"] = gzip.compress(xml, mtime=0)   # no date: the same bytes again
    sync.sync(site, wanted)


_SHELL_URL = re.compile(rb"\s*<url>(?:(?!</url>).)*?" + shell.FOLDER.encode() + rb".*?</url>", re.S)


def _files(folder: Path, prefix: str = "") -> Iterable[str]:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from _files(Path(entry.path), f"{prefix}{entry.name}/")
            else:
                yield prefix + entry.name
