"""An experiment's results: the metrics of its latest run over the matrix points, plots of them
against the swept parameters, and each metric's history across runs for the same point.

Metrics come from run.json (`TaskRecord.metrics`, filled when a task's outputs come back). Only
numbers are plotted (booleans and text are shown in the table, never drawn).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runner.book import plots
from runner.book.plots import Plot, Series
from runner.declarations.models import Experiment, PlotSpec
from runner.results import markdown as md
from runner.results.book_paths import run_page
from runner.results.records import Run
from runner.state import TaskRecord

MAX_DEFAULT_PLOTS = 6      # plots drawn without a declaration, per page
MAX_HISTORY_SERIES = 10    # matrix points drawn in one history plot; beyond, a table
MAX_HISTORY_RUNS = 20      # the latest runs with metrics shown in the history
LOG_SPAN = 100             # an axis whose positive values span this factor is drawn log-scaled
HOW_TO_DECLARE = ("Choose the plots by declaring them in the experiment: "
                  "`plots: [{x: n, y: max_error, group: nu, logx: true, logy: true}]`.")


@dataclass(frozen=True)
class Results:
    """The Results section of an experiment page: its Markdown and the plots it shows."""

    text: str
    plots: tuple[Plot, ...] = ()


def section(exp: Experiment | None, runs: Sequence[Run], page: str) -> Results:
    """The Results section for the experiment page at `page` (runs oldest first); empty text
    when no run has metrics yet."""
    measured = [r for r in runs if _tasks(r)]
    if not measured:
        return Results("")
    latest = measured[-1]
    tasks = _tasks(latest)
    swept = swept_parameters(exp, tasks)
    drawn = declared(exp.plots, tasks, swept) if exp and exp.plots else defaults(tasks, swept)
    link = md.link(latest.run_id, md.rel(page, run_page(latest.experiment, latest.run_id)))
    parts = ["## Results", f"Run {link}, the latest with metrics:",
             metrics_table(tasks, swept)]
    if drawn:
        parts += [plots.figure(p, page) for p in drawn]
    if not (exp and exp.plots):
        parts.append(HOW_TO_DECLARE)
    history_text, history_plots = history(exp, measured[-MAX_HISTORY_RUNS:], swept, page)
    return Results("\n\n".join(parts + history_text), tuple(drawn) + history_plots)


def _tasks(run: Run) -> list[TaskRecord]:
    return [t for t in run.record.tasks if t.metrics]


def swept_parameters(exp: Experiment | None, tasks: Sequence[TaskRecord]) -> list[str]:
    """The parameters that tell the tasks apart: the matrix's, then any other that differs
    (a step column first when several steps have metrics)."""
    declared = [k for k, _ in exp.matrix] if exp else []
    names = list(dict.fromkeys(k for t in tasks for k in t.parameters))
    differ = [k for k in names if k not in declared
              and len({_key(t.parameters.get(k)) for t in tasks}) > 1]
    steps = ["step"] if len({t.step for t in tasks}) > 1 else []
    return steps + declared + differ


def value(task: TaskRecord, name: str) -> Any:
    """A task's parameter, metric or step by name (what it was asked wins over what it wrote)."""
    if name in task.parameters:
        return task.parameters[name]
    if task.metrics and name in task.metrics:
        return task.metrics[name]
    return task.step if name == "step" else None


def metric_names(tasks: Sequence[TaskRecord]) -> list[str]:
    """Every metric of these tasks in the order they first appear, but those named like a
    parameter (a summary that repeats its inputs: they are in the parameter columns)."""
    asked = {k for t in tasks for k in t.parameters}
    return [k for k in dict.fromkeys(k for t in tasks for k in (t.metrics or {}))
            if k not in asked]


def metrics_table(tasks: Sequence[TaskRecord], swept: Sequence[str]) -> str:
    """One row per task, sorted by its swept parameters: those, then every metric."""
    metrics = metric_names(tasks)
    ordered = sorted(tasks, key=lambda t: tuple(_key(value(t, k)) for k in swept) + (t.id,))
    rows = [[md.code(t.id), *(md.number(value(t, k)) for k in swept),
             *(md.number((t.metrics or {}).get(m)) for m in metrics)] for t in ordered]
    head = ("Task", *(md.text(k) for k in swept), *(f"**{md.text(m)}**" for m in metrics))
    return md.table(head, rows)


def numeric(v: Any) -> bool:
    """A number that can be drawn (not a boolean, not NaN or infinite)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _key(v: Any) -> tuple:
    """A sort key for values of any type: numbers, then text, then missing."""
    if numeric(v):
        return (0, v, "")
    return (2, 0, "") if v is None else (1, 0, str(v))


def declared(specs: Sequence[PlotSpec], tasks: Sequence[TaskRecord],
             swept: Sequence[str]) -> list[Plot]:
    """The experiment's own plots: y against x, a line per value of `group`."""
    found = []
    for spec in specs:
        groups = [spec.group] if spec.group else []
        found.append(_plot(tasks, spec.x, spec.y, groups, spec.title, spec.logx, spec.logy))
    return [p for p in found if p.series]


def defaults(tasks: Sequence[TaskRecord], swept: Sequence[str]) -> list[Plot]:
    """Each numeric metric against each numeric swept parameter, a line per value of the others
    (at most MAX_DEFAULT_PLOTS)."""
    xs = [k for k in swept if _numeric_axis(tasks, k, parameter=True)]
    ys = [m for m in metric_names(tasks) if _numeric_axis(tasks, m, parameter=False)]
    found = []
    for y in ys:
        for x in xs:
            others = [k for k in swept if k != x]
            found.append(_plot(tasks, x, y, others, None, _spans(tasks, x), _spans(tasks, y)))
    return [p for p in found if p.series][:MAX_DEFAULT_PLOTS]


def _numeric_axis(tasks: Sequence[TaskRecord], name: str, parameter: bool) -> bool:
    """A parameter to draw along: numbers only, at least two of them; a metric: any number."""
    values = [value(t, name) for t in tasks]
    if not parameter:
        return any(numeric(v) for v in values)
    return all(numeric(v) for v in values) and len(set(values)) > 1


def _spans(tasks: Sequence[TaskRecord], name: str) -> bool:
    """Whether an axis reads better log-scaled: all positive, over LOG_SPAN or more."""
    values = [v for v in (value(t, name) for t in tasks) if numeric(v)]
    return bool(values) and min(values) > 0 and max(values) / min(values) >= LOG_SPAN


def _plot(tasks: Sequence[TaskRecord], x: str, y: str, groups: Sequence[str],
          title: str | None, logx: bool, logy: bool) -> Plot:
    """y against x, one series per combination of the `groups` values, one point per task."""
    by_group: dict[tuple, list[tuple[float, float]]] = {}
    for t in tasks:
        vx, vy = value(t, x), value(t, y)
        if numeric(vx) and numeric(vy):
            label = tuple(value(t, g) for g in groups)
            by_group.setdefault(label, []).append((vx, vy))
    ordered = sorted(by_group.items(), key=lambda i: [_key(v) for v in i[0]])
    series = tuple(Series(_label(groups, label), *map(tuple, zip(*sorted(pts))))
                   for label, pts in ordered)
    per = f" (a line per {', '.join(groups)})" if groups and len(series) > 1 else ""
    return Plot(title or f"{y} by {x}{per}", x, y, series, logx, logy)


def _label(groups: Sequence[str], values: Sequence[Any]) -> str:
    return ", ".join(f"{g}={v}" for g, v in zip(groups, values))


def history(exp: Experiment | None, runs: Sequence[Run], swept: Sequence[str],
            page: str) -> tuple[list[str], tuple[Plot, ...]]:
    """Each metric (the declared y's, if any) across runs, per matrix point: plots of up to
    MAX_HISTORY_SERIES points, a table beyond; only metrics that two runs or more have."""
    if len(runs) < 2:
        return [], ()
    latest = _tasks(runs[-1])
    names = list(dict.fromkeys(s.y for s in exp.plots)) if exp and exp.plots \
        else [m for m in metric_names(latest) if _numeric_axis(latest, m, parameter=False)]
    labels = run_labels(runs)
    parts = ["## Across runs", f"Each metric over the last {len(runs)} runs that have metrics "
             "(oldest first), one line per matrix point."]
    drawn = []
    for name in names[:MAX_DEFAULT_PLOTS]:
        series = _history_series(runs, labels, name, swept)
        if len({x for s in series for x in s.x}) < 2:   # in one run only: no history yet
            continue
        if len(series) > MAX_HISTORY_SERIES:
            parts += [f"**{md.text(name)}** across runs", _history_table(series, labels)]
            continue
        # the most complete line first: the run axis takes its categories in the order seen
        plot = Plot(f"{name} across runs", "run", name,
                    tuple(sorted(series, key=lambda s: -len(s.x))))
        drawn.append(plot)
        parts.append(plots.figure(plot, page))
    return (parts, tuple(drawn)) if len(parts) > 2 else ([], ())


def run_labels(runs: Sequence[Run]) -> list[str]:
    """A short, distinct label per run: its start time from the run id, with the id's hash when
    two runs started in the same minute."""
    short = [_run_time(r.run_id) for r in runs]
    return [s if short.count(s) == 1 else f"{s} {r.run_id.split('-', 1)[-1]}"
            for s, r in zip(short, runs)]


def _run_time(run_id: str) -> str:
    t = run_id.split("Z", 1)[0]   # 20240501T120000Z-abcdef12
    return f"{t[:4]}-{t[4:6]}-{t[6:8]} {t[9:11]}:{t[11:13]}" if len(t) >= 13 else run_id


def _history_series(runs: Sequence[Run], labels: Sequence[str], name: str,
                    swept: Sequence[str]) -> tuple[Series, ...]:
    """One series per matrix point (its swept values, in order), the metric in each run."""
    points: dict[tuple, dict[str, float]] = {}
    for run, label in zip(runs, labels):
        for t in _tasks(run):
            if numeric(value(t, name)):
                point = tuple((k, _text(value(t, k))) for k in swept)
                points.setdefault(point, {})[label] = value(t, name)
    ordered = sorted(points.items(), key=lambda i: [_key(v) for _, v in i[0]])
    return tuple(Series(_label([k for k, _ in p], [v for _, v in p]) or "all",
                        tuple(lb for lb in labels if lb in got),
                        tuple(got[lb] for lb in labels if lb in got)) for p, got in ordered)


def _text(v: Any) -> Any:
    return v if numeric(v) or v is None else str(v)


def _history_table(series: Sequence[Series], labels: Sequence[str]) -> str:
    """Matrix points as rows, runs as columns."""
    rows = [[md.text(s.label), *(md.number(dict(zip(s.x, s.y)).get(lb)) for lb in labels)]
            for s in series]
    return md.table(("Point", *(md.text(lb) for lb in labels)), rows)
