"""The mkdocs configuration the book is built with: the repository's mkdocs.yml plus what mso adds.

The navigation stays small and constant: mkdocs-material renders the whole nav into every page,
so listing 3000 runs there made a build take 205 s instead of 32 s. Sections have index pages
holding the catalogue in tables; the pages behind them are reachable by links and `not_in_nav`.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any

import yaml

from runner.book.generate import CSS, Generated
from runner.book.pages import reference
from runner.results import mkdocs_yml

DEFAULT_NAME = "Laboratory book"
HANDWRITTEN = "book"
GENERATED_NAV: list[dict[str, Any]] = [
    {"Applications": "applications/index.md"}, {"Datasets": "datasets/index.md"},
    {"Infrastructures": "infrastructures/index.md"}, {"Experiments": "experiments/index.md"},
    {"Usage": "usage.md"}, {"Help": "help.md"},
    {"Reference": ["reference/index.md", *(f"reference/{k}.md" for k in reference.KINDS)]}]
NOT_IN_NAV = "\n".join(["/applications/", "/datasets/", "/infrastructures/", "/experiments/",
                        "/runs/"]) + "\n"
REQUIRED_EXTENSIONS = ("admonition", "tables", "toc")


def handwritten_folder(root: Path, user: dict[str, Any]) -> Path:
    """Where the hand-written pages are: mkdocs.yml's docs_dir, by default book/."""
    return root / str(user.get("docs_dir") or HANDWRITTEN)


def site_name(user: dict[str, Any]) -> str:
    """The book's title: mkdocs.yml's site_name."""
    return str(user.get("site_name") or DEFAULT_NAME)


def write(root: Path, user: dict[str, Any], gen: Generated, site: Path, strict: bool,
          path: Path) -> Path:
    """Write the mkdocs.yml to build with at `path` (next to the docs folder) and return it."""
    here = path.parent
    cfg = dict(user)
    cfg.pop("INHERIT", None)
    cfg.update(site_name=site_name(user), docs_dir=os.path.relpath(gen.docs, here),
               site_dir=os.path.relpath(site, here), strict=strict,
               nav=nav(user.get("nav"), gen), not_in_nav=NOT_IN_NAV,
               use_directory_urls=mkdocs_yml.directory_urls(user))
    cfg["theme"] = _theme(user.get("theme"), root, here)
    cfg["plugins"] = _with(user.get("plugins"), "search")
    cfg["markdown_extensions"] = _with(user.get("markdown_extensions"), *REQUIRED_EXTENSIONS)
    cfg["extra_css"] = [*(user.get("extra_css") or []), CSS]
    cfg["validation"] = _validation(user.get("validation"))
    if isinstance(user.get("hooks"), list):
        cfg["hooks"] = [_from_repo(h, root, here) for h in user["hooks"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(cfg, Dumper=_Dumper, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def nav(user_nav: Any, gen: Generated) -> list[Any]:
    """The hand-written part of the nav (mkdocs.yml's, or derived), then the generated sections."""
    mine = list(user_nav) if isinstance(user_nav, list) else _derived(gen.handwritten)
    listed = set(_paths(mine))
    if "index.md" not in listed:
        mine.insert(0, {"Home": "index.md"})
    return mine + [e for e in GENERATED_NAV if not set(_paths([e])) & listed]


def _derived(handwritten: tuple[str, ...]) -> list[Any]:
    """A nav for hand-written pages when mkdocs.yml has none: top-level pages, then folders."""
    pages = [p for p in handwritten if p.endswith(".md") and p != "index.md"
             and p.split("/")[0] not in {"reference"}]
    top = [p for p in pages if "/" not in p]
    sections: dict[str, list[str]] = {}
    for p in pages:
        if "/" in p:
            sections.setdefault(p.split("/")[0], []).append(p)
    return [*top, *({k.replace("-", " ").capitalize(): sorted(v, key=_index_first)}
                    for k, v in sorted(sections.items()))]


def _index_first(path: str) -> tuple[bool, str]:
    return (posixpath.basename(path) != "index.md", path)


def _paths(entries: Any) -> list[str]:
    """Every page path in a nav (nested sections included)."""
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, dict):
        return [p for v in entries.values() for p in _paths(v)]
    if isinstance(entries, list):
        return [p for e in entries for p in _paths(e)]
    return []


def _theme(theme: Any, root: Path, here: Path) -> dict[str, Any]:
    theme = {"name": theme} if isinstance(theme, str) else dict(theme or {})
    theme.setdefault("name", "material")
    if theme.get("custom_dir"):
        theme["custom_dir"] = _from_repo(theme["custom_dir"], root, here)
    return theme


def _with(entries: Any, *names: str) -> list[Any]:
    """A plugins or markdown_extensions list with `names` added where missing."""
    found = list(entries or [])
    have = {e if isinstance(e, str) else next(iter(e), "") for e in found}
    return found + [n for n in names if n not in have]


def _validation(user: Any) -> dict[str, Any]:
    """Broken links and anchors are warnings (errors with --strict)."""
    cfg = dict(user or {})
    links = {"not_found": "warn", "anchors": "warn", **(cfg.get("links") or {})}
    return {**cfg, "links": links}


def _from_repo(rel: str, root: Path, here: Path) -> str:
    """A path that mkdocs.yml gives relative to the repository, made relative to `here`."""
    return rel if os.path.isabs(rel) else os.path.relpath(root / rel, here)


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (not_in_nav) as literal blocks, as a person would."""


_Dumper.add_representer(str, lambda d, s: d.represent_scalar(
    "tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))

