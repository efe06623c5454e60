"""Plots in the book: static SVG made with matplotlib, the same bytes for the same data.

A page says what to plot (a `Plot`: pure data, hashable); `render_all` draws every plot of a
build once, keeping each SVG in a cache under its content hash, so a rebuild draws only what
changed. Determinism: a fixed hash salt for the SVG ids, no date in the metadata, text kept as
text (no font outlines that differ between machines).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable

from runner.fsutil import write_atomic
from runner.results import markdown as md

STYLE = 1   # bump when the drawing changes: cached SVGs of the old style are not reused
_RC = {"svg.hashsalt": "mso", "svg.fonttype": "none", "font.size": 9, "text.parse_math": False,
       "axes.spines.top": False, "axes.spines.right": False}


@dataclass(frozen=True)
class Series:
    """One line (or one set of bars): its label and its points; y None is a missing value."""

    label: str
    x: tuple[float | str, ...]
    y: tuple[float | None, ...]


@dataclass(frozen=True)
class Plot:
    """What to draw. `kind`: line (a marker per point, joined) or bar (x are categories)."""

    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...]
    logx: bool = False
    logy: bool = False
    kind: str = "line"

    def key(self) -> str:
        """The content hash naming the SVG (in the cache and in the site)."""
        return self._key

    @cached_property
    def _key(self) -> str:
        # the fields as dataclasses.asdict gives them (which costs a deep copy of every point)
        fields = {"title": self.title, "xlabel": self.xlabel, "ylabel": self.ylabel,
                  "series": [{"label": s.label, "x": s.x, "y": s.y} for s in self.series],
                  "logx": self.logx, "logy": self.logy, "kind": self.kind}
        blob = json.dumps([STYLE, fields], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @property
    def alt(self) -> str:
        """The image's alt text: what it shows and how many points."""
        points = sum(1 for s in self.series for y in s.y if _finite(y))
        groups = f", {len(self.series)} series" if len(self.series) > 1 else ""
        return f"{self.title}: {self.ylabel} against {self.xlabel} ({points} points{groups})"


def render(plot: Plot) -> bytes:
    """The plot as SVG."""
    import matplotlib
    from matplotlib.figure import Figure

    from matplotlib.ticker import FuncFormatter, NullLocator

    with matplotlib.rc_context(_RC):
        # fixed margins, no minor ticks, tick labels as plain numbers (no mathtext): a layout
        # engine, log minor ticks and 10^x labels made a plot cost 5x as much
        fig = Figure(figsize=(6.4, 3.6))
        fig.subplots_adjust(left=0.14, right=0.97, top=0.9, bottom=0.16)
        ax = fig.add_subplot()
        (_bars if plot.kind == "bar" else _lines)(ax, plot)
        categories = plot.kind == "bar" or not all(_finite(x) for x in x_values(plot))
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_minor_locator(NullLocator())
            if not (axis is ax.xaxis and categories):
                axis.set_major_formatter(FuncFormatter(_tick))
        ax.set_title(plot.title)
        ax.set_xlabel(plot.xlabel)
        ax.set_ylabel(plot.ylabel)
        if len(plot.series) > 1:
            ax.legend(fontsize=8, frameon=False)
        out = io.BytesIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _lines(ax, plot: Plot) -> None:
    xs = x_values(plot)
    # text x values (run dates, names) are categories, placed in the order of x_values
    # (matplotlib would place them as it first meets them, series by series)
    at = None if all(_finite(x) for x in xs) else {x: n for n, x in enumerate(xs)}
    for i, s in enumerate(plot.series):
        pts = [(x if at is None else at[x], y) for x, y in zip(s.x, s.y)
               if _finite(y) and _positive(x, y, plot)]
        # the SVG group `series-N` holds one marker (<use>) per point drawn
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=4,
                linewidth=1, label=s.label, gid=f"series-{i}")
    if at is not None:
        ax.set_xticks(range(len(xs)), [str(x) for x in xs],
                      rotation=30 if len(xs) > 6 else 0, ha="right" if len(xs) > 6 else "center")
    if plot.logx:
        ax.set_xscale("log")
    if plot.logy:
        ax.set_yscale("log")


def _bars(ax, plot: Plot) -> None:
    cats = list(dict.fromkeys(str(x) for s in plot.series for x in s.x))
    width = 0.8 / max(1, len(plot.series))
    for i, s in enumerate(plot.series):
        at = {str(x): y for x, y in zip(s.x, s.y) if _finite(y)}
        xs = [c for c in range(len(cats)) if cats[c] in at]
        ax.bar([c + (i - (len(plot.series) - 1) / 2) * width for c in xs],
               [at[cats[c]] for c in xs], width=width, label=s.label)
    ax.set_xticks(range(len(cats)), cats, rotation=30 if len(cats) > 6 else 0, ha="right"
                  if len(cats) > 6 else "center")
    if plot.logy:
        ax.set_yscale("log")


def _tick(value: float, _pos: object) -> str:
    return f"{value:g}"


def _finite(y: object) -> bool:
    return isinstance(y, (int, float)) and not isinstance(y, bool) and math.isfinite(y)


def _positive(x: object, y: float, plot: Plot) -> bool:
    """A log axis shows only positive values."""
    return (not plot.logy or y > 0) and (not plot.logx or (_finite(x) and x > 0))


def render_all(plots: Iterable[Plot], cache: Path | None) -> dict[str, bytes]:
    """Every plot's SVG by its key, drawn once; kept in (and read from) `cache` when given."""
    found: dict[str, bytes] = {}
    for plot in plots:
        key = plot.key()
        if key in found:
            continue
        cached = cached_svg(cache, key) if cache is not None else None
        if cached is not None and cached.is_file():
            found[key] = cached.read_bytes()
            continue
        found[key] = render(plot)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(cached, found[key].decode())
    return found


def svg_path(plot: Plot) -> str:
    """Where a plot's SVG goes in the docs folder (shared by every page that shows it)."""
    return path_of(plot.key())


def cached_svg(cache: Path, key: str) -> Path:
    """Where render_all keeps the SVG with this key in its cache folder."""
    return cache / f"{key}.svg"


def path_of(key: str) -> str:
    """The docs path of the SVG with this key."""
    return f"assets/plots/{key}.svg"


def figure(plot: Plot, page: str) -> str:
    """Markdown for a page at docs path `page`: the image with its alt text, and its data as a
    table beside it."""
    image = f"![{md.text(plot.alt)}]({md.rel(page, svg_path(plot))})"
    return f"{image}\n\n{data_table(plot)}"


def x_values(plot: Plot) -> list:
    """Every x of the plot once: numbers in increasing order, else in the order first met."""
    xs = list(dict.fromkeys(x for s in plot.series for x in s.x))
    return sorted(xs) if all(_finite(x) for x in xs) else xs


def data_table(plot: Plot) -> str:
    """The plot's numbers as a table: x, then one column per series."""
    xs = x_values(plot)
    values = [dict(zip(s.x, s.y)) for s in plot.series]
    head = (md.text(plot.xlabel), *(md.text(s.label or plot.ylabel) for s in plot.series))
    return md.table(head, [[md.text(x), *(md.number(v.get(x)) for v in values)] for x in xs])
