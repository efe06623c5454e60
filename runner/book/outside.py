"""Run and experiment pages, rendered outside mkdocs' page loop, and the site put together.

mkdocs builds the catalogue (home, usage, index pages, applications, datasets, infrastructures,
guides) into a staging folder, with the run and experiment pages excluded from its loop: there
are thousands, and most are the same as last time. Each of those is converted with the book's
Markdown extensions and set in the page shell of its depth (runner/book/shell.py), once per
content and shell (kept in the cache by both hashes), with its search entries beside it
(runner/book/search.py). The site folder is then made to hold the staging folder's files, those
pages and the files they link, all as hard links, touching only what changed: a run page whose
HTML in the site is already the cached file leaves its whole folder unlooked at.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from runner.book import runcache, search, shell, sync
from runner.book.runcache import OutsidePage

PARALLEL_FROM = 64   # pages to convert before a process per core pays for itself


@dataclass(frozen=True)
class Rendered:
    """Where each page goes in the site and its HTML file in the cache (by docs path), and the
    pages' search entries."""

    html: dict[str, tuple[str, Path]]
    search: list[dict]
    directory_urls: bool


@dataclass(frozen=True)
class _Todo:
    path: str
    shell: str   # its placeholder's path
    markdown: str
    html: str
    search: str | None   # where its search entries go (None: not searchable)


def render(pages: Sequence[OutsidePage], staging: Path, converter: shell.Converter,
           cache: Path) -> Rendered:
    """Every page's HTML and search entries from `cache`, converting the new ones."""
    frames: dict[str, shell.Shell] = {}
    html, entries, todo = {}, [], []
    for page in pages:
        where = shell.placeholder(page.path, page.searchable)
        if where not in frames:
            frames[where] = shell.read(staging, converter, where)
        stem = cache / f"{page.key}-{frames[where].key}"
        found = stem.with_suffix(".html")
        html[page.path] = (shell.site_path(page.path, converter.directory_urls), found)
        listed = stem.with_suffix(".search.json") if page.searchable else None
        if listed is not None:
            entries.append(listed)
        if not found.is_file() or (listed is not None and not listed.is_file()):
            todo.append(_Todo(page.path, where, str(page.markdown), str(found),
                              listed and str(listed)))
    _convert_all(todo, frames, converter)
    runcache.prune(cache, {page.key for page in pages})
    return Rendered(html, [e for path in entries for e in json.loads(path.read_bytes())],
                    converter.directory_urls)


def _convert_all(todo: list[_Todo], frames: dict[str, shell.Shell], converter: shell.Converter) -> None:
    global _JOB
    if len(todo) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        for item in todo:
            _convert((frames, converter), item)
        return
    _JOB = (frames, converter)   # handed to the forked workers by the fork itself
    try:
        with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
            pool.map(_convert_forked, todo, chunksize=16)
    finally:
        _JOB = None


_JOB: Any = None


def _convert_forked(item: _Todo) -> None:
    _convert(_JOB, item)


def _convert(job: tuple[dict[str, shell.Shell], shell.Converter], item: _Todo) -> None:
    frames, converter = job
    title, anchor, content, toc = converter.convert(Path(item.markdown).read_text("utf-8"), item.path)
    if item.search:
        found = search.entries(content, shell.url(item.path, converter.directory_urls), title)
        runcache.put(Path(item.search), json.dumps(found).encode())
    frame = frames[item.shell]
    runcache.put(Path(item.html), frame.wrap(item.path, title, anchor, content, toc))


def assemble(site: Path, staging: Path, rendered: Rendered, pages: Sequence[OutsidePage]) -> None:
    """Make `site` hold the staging folder's files (the shells aside), the pages and the files
    they link; the search index gets the pages' entries."""
    search.add(staging, rendered.search)
    wanted: dict[str, sync.Content] = {}
    for rel in _files(staging):
        if not shell.is_placeholder(rel):
            wanted[rel] = staging / rel
    keep = set()
    for page in pages:   # files before pages: a page in place means its files are too
        file, html = rendered.html[page.path]
        if page.files and _same(site / file, html):
            keep.add(posixpath.dirname(file))
        else:
            wanted.update(page.files)
    wanted.update(rendered.html[page.path] for page in pages
                  if posixpath.dirname(rendered.html[page.path][0]) not in keep)
    for name in ("sitemap.xml", "sitemap.xml.gz"):
        wanted.pop(name, None)
    if (staging / "sitemap.xml").is_file():
        xml = _sitemap((staging / "sitemap.xml").read_bytes(), pages, rendered.directory_urls)
        wanted["sitemap.xml"] = xml
        wanted["sitemap.xml.gz"] = gzip.compress(xml, mtime=0)   # no date: the same bytes again
    sync.sync(site, wanted, keep)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


_URL = re.compile(rb"\s*<url>.*?</url>", re.S)


def _sitemap(xml: bytes, pages: Sequence[OutsidePage], directory_urls: bool) -> bytes:
    """mkdocs' sitemap without the placeholders, and with each searchable outside page (as its
    placeholder's entry, with its own address): the pages search finds, a crawler finds."""
    found = _URL.findall(xml)
    entries = [e for e in found if shell.FOLDER.encode() not in e]
    for page in sorted((p for p in pages if p.searchable), key=lambda p: p.path):
        here = shell.url(shell.placeholder(page.path, True), directory_urls).encode() + b"</loc>"
        entry = next((e for e in found if here in e), None)
        if entry is not None:   # none: mkdocs lists no page (no site_url)
            entries.append(entry.replace(here, shell.url(page.path, directory_urls).encode() + b"</loc>"))
    body = _URL.sub(b"", xml)
    end = body.rfind(b"</urlset>")
    return body[:end].rstrip() + b"".join(entries) + b"\n" + body[end:] if end >= 0 else xml


def _files(folder: Path, prefix: str = "") -> Iterable[str]:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from _files(Path(entry.path), f"{prefix}{entry.name}/")
            else:
                yield prefix + entry.name
