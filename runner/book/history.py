"""A run history table, as the home page and each experiment page show it: its head and rows."""

from __future__ import annotations

from runner.results import markdown as md
from runner.results import summary
from runner.results.book_paths import run_page
from runner.results.records import Run

HEAD = ("Run", "State", "Tasks ok / failed / all", "Started (UTC)", "Wall time", "Spec hash")


def row(run: Run, from_page: str) -> list[str]:
    """One line of a run history table, linking to the run's page."""
    f = summary.of(run)
    target = md.rel(from_page, run_page(run.experiment, run.run_id))
    return [md.link(run.run_id, target), md.state(run.record.state),
            f"{f.succeeded} / {f.failed} / {f.total}", md.when(f.started),
            md.duration(f.wall_seconds), md.short(run.record.spec_hash)]
