"""Search entries of pages rendered outside mkdocs' page loop, made as the theme's search plugin
makes them, and added to the index it wrote.

Material's search plugin indexes a page from its HTML content (one entry per section) when
mkdocs renders it. A page rendered outside the loop gets its entries from the same code
(material's SearchIndex, with a stand-in for mkdocs' page) once per content, kept in the cache
beside its HTML; after mkdocs wrote search/search_index.json, they are added to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from runner.book.runcache import put
from runner.book.shell import is_placeholder

INDEX = "search/search_index.json"


def entries(content: str, url: str, title: str) -> list[dict]:
    """The search entries of a page: its HTML `content`, address and title."""
    from material.plugins.search.plugin import SearchIndex

    index = SearchIndex()
    # only what add_entry_from_context reads; the toc only turns a section id into "#id", which
    # it becomes without one as well
    index.add_entry_from_context(SimpleNamespace(meta={}, content=content, toc=[], url=url,
                                                 title=title))
    return index.entries


def add(site: Path, found: list[dict]) -> None:
    """Add these entries to the search index mkdocs wrote into `site` (none: search is off)."""
    path = site / INDEX
    if not found or not path.is_file():
        return
    data = json.loads(path.read_text("utf-8"))
    data["docs"] = [e for e in data["docs"] if not is_placeholder(e["location"])] + found
    # as the plugin writes it; a new file, not written through the site's link to the old one
    put(path, json.dumps(data, separators=(",", ":"), default=str).encode("utf-8"))
