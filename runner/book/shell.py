"""Pages rendered outside mkdocs' page loop, inside a page shell that mkdocs itself rendered.

mkdocs renders one placeholder page (SHELL) at the depth of a run page, so every relative link
of its theme (CSS, scripts, the nav, the search) holds for a run page too. A run page is its
Markdown converted with the same extensions as every other page, put in place of the
placeholder's content; its title and its table of contents replace the placeholder's.
"""

from __future__ import annotations

import hashlib
import html
import posixpath
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markdown
from markdown.treeprocessors import Treeprocessor

from runner.errors import BookError

FOLDER = "mso-shell"
PATH = f"{FOLDER}/run/page/index.md"   # as deep as runs/<experiment>/<run id>/index.md
TITLE, BODY, TOC = "MSOSHELLTITLE", "MSOSHELLBODY", "MSOSHELLTOC"
MARKDOWN = (f"---\nsearch:\n  exclude: true\n---\n\n# {TITLE}\n\n{BODY}\n\n## {TOC}\n")
_FRONT = re.compile(r"\A---\n.*?\n---\n", re.S)


class _Links(Treeprocessor):
    """Links to pages (x.md) become the pages' addresses, as mkdocs makes them."""

    def __init__(self, md: markdown.Markdown, directory_urls: bool) -> None:
        super().__init__(md)
        self.directory_urls = directory_urls

    def run(self, root: etree.Element) -> None:
        for el in root.iter("a"):
            href = el.get("href")
            if href:
                el.set("href", self.url(href))

    def url(self, href: str) -> str:
        path, sep, anchor = href.partition("#")
        if not path.endswith(".md") or "://" in path or path.startswith(("/", "mailto:")):
            return href
        if self.directory_urls:
            folder, name = posixpath.split(path[:-3])
            path = (folder + "/" if folder else "./") if name in ("index", "README") \
                else f"{path[:-3]}/"
        else:
            path = path[:-3] + ".html"
        return path + sep + anchor


class Converter:
    """Markdown to HTML with the book's extensions (the mkdocs config's), links made as mkdocs
    makes them."""

    def __init__(self, extensions: list[Any], configs: dict[str, Any], directory_urls: bool):
        self.extensions, self.configs, self.directory_urls = extensions, configs, directory_urls
        self._md: markdown.Markdown | None = None

    def convert(self, text: str) -> tuple[str, str, str, list[tuple[str, str]]]:
        """(title, its anchor, HTML, [(anchor, title) of each second-level heading]) of a page's
        Markdown."""
        if self._md is None:
            self._md = markdown.Markdown(extensions=self.extensions,
                                         extension_configs=self.configs)
            self._md.treeprocessors.register(_Links(self._md, self.directory_urls), "mso-links", 1)
        md = self._md.reset()
        body = _FRONT.sub("", text, count=1)
        out = md.convert(body)
        first = next((ln for ln in body.splitlines() if ln.startswith("# ")), "# ")
        tokens = getattr(md, "toc_tokens", [])
        second = [t for top in tokens for t in (top["children"] if top["level"] == 1 else [top])]
        top = next((t["id"] for t in tokens if t["level"] == 1), "")
        return (first[2:].strip(), top, out,
                [(t["id"], t["name"]) for t in second if t["level"] == 2])


@dataclass(frozen=True)
class Shell:
    """The placeholder page as mkdocs rendered it: its content and its table of contents' item
    cut out (CONTENT and ITEMS mark where they were)."""

    page: str      # the title marker still in it
    item: str      # one table-of-contents item, for the marker heading ("" if the theme has none)

    @property
    def key(self) -> str:
        """The hash of the shell (a page made in another shell is made again)."""
        return hashlib.sha256(f"{self.page}\0{self.item}".encode()).hexdigest()[:16]

    def wrap(self, path: str, title: str, anchor: str, content: str,
             toc: list[tuple[str, str]]) -> bytes:
        """The page at docs path `path` (an index.md as deep as the shell's)."""
        items = "".join(self.item.replace(f'href="#{TOC.lower()}"', f'href="#{html.escape(a)}"')
                        .replace(TOC, t) for a, t in toc)
        page = (self.page.replace(f'href="#{TITLE.lower()}"', f'href="#{html.escape(anchor)}"')
                .replace(TITLE, html.escape(title, quote=False)).replace(ITEMS, items)
                .replace(posixpath.dirname(PATH) + "/", posixpath.dirname(path) + "/"))
        head, tail = page.split(CONTENT)
        return (head + content + tail).encode("utf-8")


CONTENT, ITEMS = "\0MSO-CONTENT\0", "\0MSO-ITEMS\0"


def read(site: Path, converter: Converter) -> Shell:
    """The shell from the placeholder page mkdocs built into `site`."""
    built = (site / PATH.replace(".md", ".html")).read_text("utf-8")
    content = converter.convert(MARKDOWN)[2]
    if built.count(content) != 1:
        raise BookError("the run pages' shell: mkdocs' page does not hold its Markdown as "
                        "mso converts it (a Markdown extension behaves differently); a bug in mso")
    page = built.replace(content, CONTENT)
    anchor = f'href="#{TOC.lower()}"'
    if anchor not in page:   # a theme without a table of contents
        return Shell(page, "")
    at = page.index(anchor)
    start = page.rindex(">", 0, page.rindex("<li", 0, at)) + 1   # the item's indent with it
    end = page.index("</li>", at) + len("</li>")
    return Shell(page[:start] + ITEMS + page[end:], page[start:end])
