"""One module per kind of generated page; `all_pages` puts them together in a stable order."""

from __future__ import annotations

from runner.book.context import Context, Page
from runner.book.pages import (applications, datasets, experiments, help, home,
                               infrastructures, reference, runs, usage)


def all_pages(ctx: Context) -> list[Page]:
    """Every generated page, sorted by path."""
    return sorted([*catalogue_pages(ctx), *runs.pages(ctx)], key=lambda p: p.path)


def catalogue_pages(ctx: Context) -> list[Page]:
    """Every generated page but the runs' (the book makes those once: runner/book/runcache.py)."""
    found = [home.page(ctx), usage.page(ctx), help.page(ctx), *applications.pages(ctx),
             *datasets.pages(ctx), *infrastructures.pages(ctx), *experiments.pages(ctx),
             *reference.pages(ctx)]
    return sorted(found, key=lambda p: p.path)
