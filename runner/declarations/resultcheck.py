"""Checks of result metrics: an application's result files stay inside the task's work dir, and
an experiment's plots name its parameters and its applications' metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Iterator

from runner.declarations.messages import did_you_mean, unique
from runner.declarations.models import Application, Experiment, PlotSpec, Repository
from runner.declarations.paths import unsafe_path
from runner.declarations.yamlload import Document
from runner.errors import SpecError

_GLOB = frozenset("*?[")


def check(repo: Repository, docs: Mapping[str, Document], mine: Callable) -> list[SpecError]:
    """The errors of the result files and plots of the declarations `mine` selects."""
    errors: list[SpecError] = []
    for app in filter(mine, repo.applications.values()):
        errors += _results(app, docs[app.path])
    for exp in filter(mine, repo.experiments.values()):
        errors += _plots(exp, repo, docs[exp.path])
    return errors


def _results(app: Application, doc: Document) -> Iterator[SpecError]:
    for i, rf in enumerate(app.results):
        where = doc.where(("results", i, "file"))
        if why := unsafe_path(rf.file):
            yield SpecError(where, f"result file {rf.file!r} escapes the task's work dir: {why}",
                            "result files are relative to the task's work dir")
        elif _GLOB & set(rf.file):
            yield SpecError(where, f"result file {rf.file!r} is a pattern, not one file",
                            "name the file, e.g. out/summary.json")
        elif not rf.file.lower().endswith((".json", ".csv")):
            yield SpecError(where, f"result file {rf.file!r} is neither .json nor .csv",
                            "write the metrics as a JSON object or a CSV with a header row")


class _Names:
    """What a plot of one experiment may name: its parameters and its applications' metrics."""

    def __init__(self, exp: Experiment, repo: Repository) -> None:
        apps = [repo.applications[a] for a in unique(s.application for s in exp.steps)
                if a in repo.applications]
        self.apps = apps
        self.parameters = set(dict(exp.matrix)) | set(exp.parameters) | {
            p for a in apps for p in a.parameters.get("properties", {})}
        files = [rf for a in apps for rf in a.results]
        self.declared = bool(files)
        self.open = any(not rf.fields for rf in files)   # any metric name may turn up
        self.metrics = {f for rf in files for f in rf.fields}

    def known(self) -> list[str]:
        return sorted(self.parameters | self.metrics)


def _plots(exp: Experiment, repo: Repository, doc: Document) -> Iterator[SpecError]:
    if not exp.plots:
        return
    names = _Names(exp, repo)
    if not names.apps:    # an unknown application: crossref says so
        return
    for i, plot in enumerate(exp.plots):
        yield from _plot(plot, i, names, doc)


def _plot(plot: PlotSpec, i: int, names: _Names, doc: Document) -> Iterator[SpecError]:
    apps = ", ".join(a.name for a in names.apps)
    yield from _axis(plot, i, "x", names, doc, apps)
    if not names.declared:
        yield SpecError(doc.where(("plots", i, "y")), f"{apps} declares no result metrics to plot",
                        f"add `results: [{{file: out/summary.json}}]` to {names.apps[0].path}")
    elif not names.open and plot.y not in names.metrics:
        yield SpecError(doc.where(("plots", i, "y")), f"'{plot.y}' is not a metric of {apps}",
                        did_you_mean(plot.y, sorted(names.metrics), "its results' fields"))
    yield from _axis(plot, i, "group", names, doc, apps)
    if plot.group is not None and plot.group == plot.x:
        yield SpecError(doc.where(("plots", i, "group")),
                        f"the plot is grouped by its own x axis, '{plot.x}'",
                        "group by another parameter, or leave `group` out")


def _axis(plot: PlotSpec, i: int, key: str, names: _Names, doc: Document,
          apps: str) -> Iterator[SpecError]:
    """x and group name a parameter or a metric (any name, when a result file keeps all)."""
    value = getattr(plot, key)
    if value is None or value in names.parameters or value in names.metrics or names.open:
        return
    yield SpecError(doc.where(("plots", i, key)),
                    f"'{value}' is neither a parameter nor a metric of {apps}",
                    did_you_mean(value, names.known(), "parameters and metrics"))
