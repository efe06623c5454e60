"""What every page generator gets (the repository and its runs) and what it gives (a Page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping

from runner.book.plots import Plot
from runner.declarations.models import LOCAL, Infrastructure, Repository
from runner.results.records import Run


@dataclass(frozen=True)
class Page:
    """A generated page: its docs path, its title and its Markdown body, plus files it links to."""

    path: str
    title: str
    body: str
    files: tuple[tuple[str, Path], ...] = ()   # (docs path, source file) copied beside the page
    plots: tuple[Plot, ...] = ()               # drawn once per build, at plots.svg_path(plot)
    searchable: bool = True

    def text(self) -> str:
        """The page as Markdown: front matter if needed, its title, then its body."""
        front = "" if self.searchable else "---\nsearch:\n  exclude: true\n---\n\n"
        return f"{front}# {self.title}\n\n{self.body.strip()}\n"


@dataclass(frozen=True)
class Context:
    """The repository and its runs, read once per build (what is derived from them, once too)."""

    repo: Repository
    runs: Mapping[str, list[Run]] = field(default_factory=dict)   # experiment -> oldest first
    site_name: str = "Laboratory book"

    def experiment_names(self) -> list[str]:
        """Declared experiments and those that only have runs left, sorted."""
        return sorted(set(self.repo.experiments) | set(self.runs))

    @cached_property
    def infrastructures(self) -> Mapping[str, Infrastructure]:
        """Declared infrastructures, plus the built-in `local` when something uses it, by name."""
        found = dict(self.repo.infrastructures)
        used = {p for e in self.repo.experiments.values() for s in e.steps for p in s.places}
        if "local" in used and "local" not in found:
            found["local"] = LOCAL
        return dict(sorted(found.items()))

    @cached_property
    def all_runs(self) -> tuple[Run, ...]:
        """Every run, oldest first."""
        return tuple(sorted((r for runs in self.runs.values() for r in runs),
                            key=lambda r: (r.run_id, r.experiment)))

