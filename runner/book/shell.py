"""Pages rendered outside mkdocs' page loop, inside a page shell that mkdocs itself rendered.

mkdocs renders a placeholder page at the depth of each kind of page rendered outside it (a run
page, an experiment page), so every relative link of its theme (CSS, scripts, the nav, the
search) holds for those pages too. Such a page is its Markdown converted with the same
extensions as every other page, put in place of the placeholder's content; its title and its
table of contents replace the placeholder's.
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

from urllib.parse import unquote, urlsplit, urlunsplit

import markdown
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE   # an e-mail address, obfuscated: mkdocs leaves it too
from mkdocs.utils import get_relative_url

from runner.errors import BookError

FOLDER = "_mso-shell"   # the placeholders' name in each top folder (not an experiment's name)
TITLE, BODY, TOC = "MSOSHELLTITLE", "MSOSHELLBODY", "MSOSHELLTOC"
_PAGE = f"# {TITLE}\n\n{BODY}\n\n## {TOC}\n"


def markdown_of(searchable: bool) -> str:
    """A placeholder's Markdown: front matter as its pages have it (the theme lays a page out
    after its front matter; runner/book/search.py drops a searchable placeholder's entries)."""
    return _PAGE if searchable else f"---\nsearch:\n  exclude: true\n---\n\n{_PAGE}"


_FRONT = re.compile(r"\A---\n.*?\n---\n", re.S)


class _Links(Treeprocessor):
    """Relative links and images made as mkdocs makes them (its _RelativePathTreeprocessor): the
    target, relative to the page's Markdown file, becomes its address (a page's, or a file's
    path), relative to the page's address."""

    def __init__(self, md: markdown.Markdown, directory_urls: bool) -> None:
        super().__init__(md)
        self.directory_urls = directory_urls
        self.page = ""   # the docs path of the page being converted

    def run(self, root: etree.Element) -> None:
        for el in root.iter():
            key = "href" if el.tag == "a" else "src" if el.tag == "img" else None
            if key and el.get(key):
                el.set(key, self.url(el.get(key)))

    def url(self, href: str) -> str:
        scheme, netloc, path, query, anchor = urlsplit(href)
        if scheme or netloc or not path or href.startswith(("/", "\\")) or AMP_SUBSTITUTE in href:
            return href
        target = posixpath.normpath(posixpath.join(posixpath.dirname(self.page), unquote(path)))
        address = url(target, self.directory_urls) if target.endswith(".md") else target
        return urlunsplit(("", "", get_relative_url(address, url(self.page, self.directory_urls)),
                           query, anchor))


class Converter:
    """Markdown to HTML with the book's extensions (the mkdocs config's), links made as mkdocs
    makes them."""

    def __init__(self, extensions: list[Any], configs: dict[str, Any], directory_urls: bool):
        self.extensions, self.configs, self.directory_urls = extensions, configs, directory_urls
        self._md: markdown.Markdown | None = None

    def convert(self, text: str, path: str) -> tuple[str, str, str, list[tuple[str, str]]]:
        """(title, its anchor, HTML, [(anchor, title) of each second-level heading]) of the
        Markdown of the page at docs path `path`."""
        if self._md is None:
            self._md = markdown.Markdown(extensions=self.extensions,
                                         extension_configs=self.configs)
            self._links = _Links(self._md, self.directory_urls)
            self._md.treeprocessors.register(self._links, "mso-links", 1)
        self._links.page = path
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
    url: str       # the placeholder's address (where the page shows its own)
    directory_urls: bool

    @property
    def key(self) -> str:
        """The hash of the shell (a page made in another shell is made again)."""
        return hashlib.sha256(f"{self.page}\0{self.item}".encode()).hexdigest()[:16]

    def wrap(self, path: str, title: str, anchor: str, content: str,
             toc: list[tuple[str, str]]) -> bytes:
        """The page at docs path `path` (a page whose placeholder is this shell's)."""
        items = "".join(self.item.replace(f'href="#{TOC.lower()}"', f'href="#{html.escape(a)}"')
                        .replace(TOC, t) for a, t in toc)
        page = (self.page.replace(f'href="#{TITLE.lower()}"', f'href="#{html.escape(anchor)}"')
                .replace(TITLE, html.escape(title, quote=False)).replace(ITEMS, items)
                .replace(self.url, url(path, self.directory_urls)))
        head, tail = page.split(CONTENT)
        return (head + content + tail).encode("utf-8")


CONTENT, ITEMS = "\0MSO-CONTENT\0", "\0MSO-ITEMS\0"


def placeholder(path: str, searchable: bool) -> str:
    """The placeholder page for the page at docs path `path` (in a folder): in the same top
    folder, as deep, and like it an index page or not. Both then have the same address depth
    (with directory URLs or without), and mkdocs writes the same relative link from both."""
    top, depth = path.split("/", 1)[0], path.count("/")
    name = FOLDER + ("-searched" if searchable else "")
    if depth == 1:
        return f"{top}/{name}.md"
    page = "index.md" if posixpath.basename(path) in ("index.md", "README.md") else "page.md"
    return f"{top}/{name}/" + "d/" * (depth - 2) + page


def is_placeholder(rel: str) -> bool:
    """Whether a docs or site path (or address) is a placeholder's (left out of the site)."""
    return any(part.startswith(FOLDER) for part in rel.split("/"))


def site_path(path: str, directory_urls: bool) -> str:
    """The file mkdocs writes for the page at docs path `path`."""
    folder, name = posixpath.split(path[: -len(".md")])
    if name in ("index", "README"):
        return posixpath.join(folder, "index.html")
    return f"{path[: -len('.md')]}/index.html" if directory_urls else f"{path[: -len('.md')]}.html"


def url(path: str, directory_urls: bool) -> str:
    """The page's address relative to the site's root, as mkdocs makes it."""
    file = site_path(path, directory_urls)
    return file[: -len("index.html")] if directory_urls and file.endswith("index.html") else file


def read(site: Path, converter: Converter, path: str) -> Shell:
    """The shell of placeholder page `path` that mkdocs built into `site`."""
    built = (site / site_path(path, converter.directory_urls)).read_text("utf-8")
    content = converter.convert(_PAGE, path)[2]
    if built.count(content) != 1:
        raise BookError("the outside pages' shell: mkdocs' page does not hold its Markdown as "
                        "mso converts it (a Markdown extension behaves differently); a bug in mso")
    page = built.replace(content, CONTENT)
    here = url(path, converter.directory_urls)
    anchor = f'href="#{TOC.lower()}"'
    if anchor not in page:   # a theme without a table of contents
        return Shell(page, "", here, converter.directory_urls)
    at = page.index(anchor)
    start = page.rindex(">", 0, page.rindex("<li", 0, at)) + 1   # the item's indent with it
    end = page.index("</li>", at) + len("</li>")
    return Shell(page[:start] + ITEMS + page[end:], page[start:end], here, converter.directory_urls)
