"""runner/book/plots.py on its own: the SVG is the same bytes every time (in another process
too), holds one marker per point drawn, and its data table lists the same numbers."""

from __future__ import annotations

import re
import subprocess
import sys

from runner.book.plots import Plot, Series, data_table, figure, render, render_all, svg_path
from tests.conftest import ROOT

SWEEP = Plot("error against n", "n", "max_error",
             (Series("nu=0.1", (32, 8, 16), (6e-4, 1e-2, 2.5e-3)),
              Series("nu=0.2", (8, 16, 32), (2e-2, None, 1.2e-3))), logx=True, logy=True)


def markers(svg: bytes) -> list[int]:
    """Per series, the markers drawn (its group `series-N` holds one <use> per point)."""
    groups = re.findall(r'<g id="series-(\d+)">(.*?)</g>\s*</g>', svg.decode(), re.S)
    return [body.count("<use ") for _, body in sorted(groups)]


def test_the_same_plot_is_the_same_bytes_here_and_in_another_process() -> None:
    here = render(SWEEP)
    code = ("import sys; from tests.book.test_plots import SWEEP; from runner.book.plots import render;"
            "sys.stdout.buffer.write(render(SWEEP))")
    there = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           check=True).stdout
    assert here == render(SWEEP) == there
    assert b"<dc:date>" not in here and b"Date" not in here


def test_one_marker_per_point_and_none_for_a_missing_value() -> None:
    assert markers(render(SWEEP)) == [3, 2]


def test_a_log_axis_leaves_out_what_it_cannot_show() -> None:
    plot = Plot("t", "x", "y", (Series("", (1, 2, 3), (0.0, 1.0, -2.0)),), logy=True)
    assert markers(render(plot)) == [1]


def test_text_x_values_keep_their_order_across_series() -> None:
    plot = Plot("history", "run", "error", (Series("a", ("r2", "r3"), (1.0, 2.0)),
                                            Series("b", ("r1", "r2", "r3"), (1.5, 1.0, 0.5))))
    svg = render(plot).decode()
    assert markers(render(plot)) == [2, 3]
    # the tick labels, left to right, are the runs in the order first met across the series
    assert [m for m in re.findall(r">(r\d)<", svg)] == ["r2", "r3", "r1"]


def test_the_data_table_lists_numeric_x_in_order() -> None:
    rows = [line for line in data_table(SWEEP).splitlines()[2:]]
    assert rows == ["| 8 | 0.01 | 0.02 |", "| 16 | 0.0025 | — |", "| 32 | 0.0006 | 0.0012 |"]


def test_a_figure_links_its_svg_with_alt_text_and_render_all_keeps_it(tmp_path) -> None:
    text = figure(SWEEP, "experiments/heat.md")
    assert text.startswith("![error against n: max\\_error against n (5 points, 2 series)]"
                           f"(../{svg_path(SWEEP)})")
    drawn = render_all([SWEEP, SWEEP], tmp_path)
    assert list(drawn) == [SWEEP.key()] and (tmp_path / f"{SWEEP.key()}.svg").read_bytes() == drawn[SWEEP.key()]


def test_bars_draw_one_bar_per_category_and_series() -> None:
    plot = Plot("jobs", "user", "jobs", (Series("jobs", ("ana", "ben"), (3, 5)),
                                         Series("failed", ("ana", "ben"), (1, None))), kind="bar")
    svg = render(plot).decode()
    bars = re.findall(r'<g id="patch_\d+">\s*<path d="M [^"]*z\s*"[^>]*clip-path', svg)
    assert len(bars) == 3
