"""The home page: the catalogue at a glance and the latest runs (after book/index.md, if any)."""

from __future__ import annotations

from runner.book import history
from runner.book.context import Context, Page
from runner.results import markdown as md
from runner.results.book_paths import experiment_page

PATH = "index.md"
LATEST = 10


def page(ctx: Context) -> Page:
    """The generated part of the home page."""
    repo = ctx.repo
    counts = [md.link(str(len(repo.applications)), "applications/index.md"),
              md.link(str(len(repo.datasets)), "datasets/index.md"),
              md.link(str(len(ctx.infrastructures)), "infrastructures/index.md"),
              md.link(str(len(ctx.experiment_names())), "experiments/index.md"),
              md.link(str(len(ctx.all_runs)), "usage.md")]
    latest = list(reversed(ctx.all_runs))[:LATEST]
    rows = [[md.link(r.experiment, experiment_page(r.experiment)), *history.row(r, PATH)]
            for r in latest]
    body = "\n\n".join([
        "## At a glance",
        md.table(("Applications", "Datasets", "Infrastructures", "Experiments", "Runs"), [counts]),
        "## Latest runs",
        md.table(("Experiment", *history.HEAD), rows,
                 "No runs yet: `mso run` starts them.")])
    return Page(PATH, ctx.site_name, body)
