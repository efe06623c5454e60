"""The usage page: runs, task-hours and outcomes per experiment, infrastructure and month."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from runner.book.context import Context, Page
from runner.results import markdown as md
from runner.results import summary
from runner.results.book_paths import experiment_page, infrastructure_page
from runner.results.records import Run

PATH = "usage.md"
HEAD = ("Runs", "Runs ok / failed", "Tasks", "Tasks ok / failed", "Task-hours")


@dataclass
class Tally:
    """Counts over a group of runs."""

    runs: int = 0
    runs_ok: int = 0
    runs_failed: int = 0
    tasks: int = 0
    tasks_ok: int = 0
    tasks_failed: int = 0
    task_seconds: float = 0.0

    def add(self, run: Run, f: summary.RunFacts) -> None:
        """Count one run in, with its facts."""
        self.runs += 1
        self.runs_ok += run.record.state == "succeeded"
        self.runs_failed += run.record.state == "failed"
        self.tasks += f.total
        self.tasks_ok += f.succeeded
        self.tasks_failed += f.failed
        self.task_seconds += f.task_seconds

    def cells(self) -> list[str]:
        """The counts as table cells, in the order of HEAD."""
        return [str(self.runs), f"{self.runs_ok} / {self.runs_failed}", str(self.tasks),
                f"{self.tasks_ok} / {self.tasks_failed}", f"{self.task_seconds / 3600:.2f}"]


def page(ctx: Context) -> Page:
    """Usage figures from the run records alone."""
    runs = [(run, summary.of(run)) for run in ctx.all_runs]
    total = Tally()
    for run, facts in runs:
        total.add(run, facts)
    parts = ["How much has run, and how it went, counted from the run records in results/. "
             "Task-hours add up each task's wall time (from start to end of its command).",
             md.table(HEAD, [total.cells()]),
             "## By experiment", _grouped(runs, lambda r: r.experiment, "Experiment", _exp_link),
             "## By infrastructure",
             _grouped(runs, lambda r: r.record.infrastructure["name"], "Infrastructure",
                      _infra_link(ctx)),
             "## By month",
             _grouped(runs, lambda r: f"{r.run_id[:4]}-{r.run_id[4:6]}", "Month (UTC)", md.text)]
    return Page(PATH, "Usage", "\n\n".join(parts))


def _grouped(runs: list[tuple[Run, summary.RunFacts]], key: Callable[[Run], str], label: str,
             show: Callable[[str], str]) -> str:
    groups: dict[str, Tally] = defaultdict(Tally)
    for run, facts in runs:
        groups[key(run)].add(run, facts)
    rows = [[show(k), *groups[k].cells()] for k in sorted(groups)]
    return md.table((label, *HEAD), rows, "No runs yet.")


def _exp_link(name: str) -> str:
    return md.link(name, md.rel(PATH, experiment_page(name)))


def _infra_link(ctx: Context) -> Callable[[str], str]:
    known = ctx.infrastructures
    return lambda name: (md.link(name, md.rel(PATH, infrastructure_page(name))) if name in known
                         else md.text(name))
