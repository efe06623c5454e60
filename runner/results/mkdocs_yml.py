"""The repository's mkdocs.yml, read one way for the book (to build) and the reports (to link)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from runner.errors import BookError


def read(root: Path) -> dict[str, Any]:
    """The repository's mkdocs.yml as a map (empty when there is none)."""
    path = next((root / n for n in ("mkdocs.yml", "mkdocs.yaml") if (root / n).is_file()), None)
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BookError(f"{path.name}: cannot read it ({_first_line(exc)}); YAML tags such as "
                        "!!python/name are not supported in the book's mkdocs.yml") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BookError(f"{path.name}: expected a map of mkdocs settings, "
                        f"got {type(data).__name__}")
    return data


def directory_urls(data: dict[str, Any]) -> bool:
    """mkdocs' use_directory_urls for the book: off unless mkdocs.yml turns it on.

    Off, a page is `x.html` and a link names it, so the site works opened from disk (file://
    shows a folder's listing, not its index.html); on, pages are `x/` and need a web server.
    """
    return data.get("use_directory_urls") is True


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
