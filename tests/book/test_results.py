"""The Results section of an experiment page, from run records with metrics (no site built):
the metrics table, default and declared plots, the history across runs, the runs archive."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runner.book import plots
from runner.book.context import Context
from runner.book.pages import experiments, results
from runner.declarations import repository
from runner.declarations.models import PlotSpec
from tests.book import sweep_records as sr

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory):
    """The example repository's declarations."""
    from tests.conftest import EXAMPLE, ROOT
    import shutil
    root = tmp_path_factory.mktemp("results") / "repo"
    for folder in EXAMPLE:
        shutil.copytree(ROOT / folder, root / folder)
    return repository.load_valid(root)


def heat(repo, *specs: PlotSpec):
    """The example's heat-sweep experiment, with these plots declared (none by default)."""
    return dataclasses.replace(repo.experiments["heat-sweep"], plots=specs)


def markers(plot: plots.Plot) -> list[int]:
    """The markers drawn per series, counted in the SVG (one <use> per point)."""
    root = ET.fromstring(plots.render(plot))
    groups = [g for g in root.iter(f"{SVG}g") if g.get("id", "").startswith("series-")]
    return [len(list(g.iter(f"{SVG}use"))) for g in groups]


def test_metrics_table_has_a_row_per_task_sorted_by_the_parameters(repo) -> None:
    exp = heat(repo)
    rec = sr.heat_run(1)
    rec.tasks.reverse()   # the table sorts them, whatever order the record has
    rec.tasks[0].metrics = {**rec.tasks[0].metrics, "nu": 99}   # a summary repeating its inputs
    found = results.section(exp, [sr.run(sr.heat_run(0, 2.0)), sr.run(rec)], "experiments/h.md")
    [table] = [b.splitlines() for b in found.text.split("\n\n") if b.startswith("| Task |")]
    assert table[0] == "| Task | nu | n | **heat** | **max** | **steps** | **verdict** |"
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in table[2:]]
    assert [(r[1], r[2]) for r in rows] == [("0.05", "32"), ("0.05", "64"), ("0.1", "32"),
                                            ("0.1", "64"), ("0.2", "32"), ("0.2", "64")]
    assert rows[0][3] == f"{sr.heat_metrics(0.05, 32)['heat']:.4g}"   # the latest run's
    assert rows[1][5] == "256" and rows[1][6] == "ok"
    assert f"[{rec.run_id}](../runs/heat-sweep/{rec.run_id}/index.md)" in found.text


def test_no_metrics_no_results_section(repo) -> None:
    rec = sr.heat_run(0)
    for t in rec.tasks:
        t.metrics = None
    assert results.section(heat(repo), [sr.run(rec)], "x.md").text == ""


def test_default_plots_each_metric_against_each_swept_number(repo) -> None:
    exp = heat(repo)
    rec = sr.heat_run(0)
    del rec.tasks[2].metrics["heat"]       # a point without that metric: not drawn
    rec.tasks[3].metrics["max"] = "n/a"    # text among numbers: skipped
    rec.tasks[5].metrics["extra"] = 1.5    # a 4th metric: its plots are past the cap
    found = results.section(exp, [sr.run(rec)], "experiments/heat-sweep.md")
    titles = [p.title for p in found.plots]
    # heat, max, steps against nu and n; `verdict` is text: not plotted; capped at 6
    assert titles == ["heat by nu (a line per n)", "heat by n (a line per nu)",
                      "max by nu (a line per n)", "max by n (a line per nu)",
                      "steps by nu (a line per n)", "steps by n (a line per nu)"]
    heat_by_nu, heat_by_n, max_by_nu = found.plots[:3]
    assert [s.label for s in heat_by_nu.series] == ["n=32", "n=64"]
    assert markers(heat_by_nu) == [2, 3] and sum(markers(heat_by_n)) == 5
    assert sum(markers(max_by_nu)) == 5
    assert results.HOW_TO_DECLARE in found.text
    for plot in found.plots:
        assert f"![{plot.alt}](../assets/plots/{plot.key()}.svg)" in found.text.replace("\\", "")


def test_declared_plots_replace_the_defaults(repo) -> None:
    exp = heat(repo, PlotSpec(x="n", y="heat", group="nu", logx=True, logy=True, title="Decay"),
               PlotSpec(x="nu", y="verdict"))   # nothing numeric to draw: left out
    found = results.section(exp, [sr.run(sr.heat_run(0))], "experiments/heat-sweep.md")
    [plot] = found.plots
    assert (plot.title, plot.xlabel, plot.ylabel, plot.logx, plot.logy) == \
        ("Decay", "n", "heat", True, True)
    assert [s.label for s in plot.series] == ["nu=0.05", "nu=0.1", "nu=0.2"]
    assert markers(plot) == [2, 2, 2]
    assert results.HOW_TO_DECLARE not in found.text


def test_history_across_runs_one_line_per_point(repo) -> None:
    exp = heat(repo)
    runs = [sr.run(sr.heat_run(n, 1 + n / 10)) for n in range(3)]
    runs[0].record.tasks.pop()   # the point nu=0.2, n=64 is missing from the first run
    found = results.section(exp, runs, "experiments/heat-sweep.md")
    history = [p for p in found.plots if p.xlabel == "run"]
    assert [p.ylabel for p in history] == ["heat", "max", "steps"]
    first = history[0]
    assert len(first.series) == 6 and sorted(markers(first)) == [2, 3, 3, 3, 3, 3]
    assert first.series[0].x == ("2025-01-01 00:00", "2025-01-02 01:00", "2025-01-03 02:00")
    assert "## Across runs" in found.text
    one = results.section(exp, runs[-1:], "experiments/heat-sweep.md")
    assert "## Across runs" not in one.text


def test_history_of_many_points_is_a_table(repo) -> None:
    exp = heat(repo)
    many = dict(nus=(0.01, 0.02, 0.05, 0.1, 0.2, 0.4), ns=(32, 64))   # 12 points
    runs = [sr.run(sr.heat_run(n, 1 + n, **many)) for n in range(2)]
    found = results.section(exp, runs, "experiments/heat-sweep.md")
    assert not [p for p in found.plots if p.xlabel == "run"]
    after = found.text.split("## Across runs")[1]
    assert "| Point | 2025-01-01 00:00 | 2025-01-02 01:00 |" in after
    assert re.search(r"\| nu=0\.4, n=64 \| 0\.01832 \| 0\.03663 \|", after)


def test_an_experiment_shows_50_runs_and_archives_the_rest(repo) -> None:
    runs = [sr.run(sr.record("heat-sweep", n, [sr.task(0, {"nu": 0.1}, None)]))
            for n in range(51)]
    pages = {p.path: p for p in experiments.pages(Context(repo, {"heat-sweep": runs}))}
    page, archive = pages["experiments/heat-sweep.md"], pages["experiments/heat-sweep/archive.md"]
    listed = re.findall(r"\| \[(\S+)\]\(\.\./runs/", page.body)
    assert listed == [r.run_id for r in reversed(runs[1:])]
    assert "[1 older run](heat-sweep/archive.md)" in page.body
    assert re.findall(r"\| \[(\S+)\]\(\.\./\.\./runs/", archive.body) == [runs[0].run_id]
    assert "[heat-sweep](../heat-sweep.md)" in archive.body
    assert not archive.searchable and "search:\n  exclude: true" in archive.text()
    fifty = {p.path for p in experiments.pages(Context(repo, {"heat-sweep": runs[1:]}))}
    assert "experiments/heat-sweep/archive.md" not in fifty


def test_runs_table_shortens_the_spec_hash(repo) -> None:
    runs = [sr.run(sr.heat_run(0))]
    [page] = [p for p in experiments.pages(Context(repo, {"heat-sweep": runs}))
              if p.path == "experiments/heat-sweep.md"]
    assert f'<code title="{"ab" * 32}">{"ab" * 6}…</code>' in page.body


def test_plot_labels_are_plain_text(repo, tmp_path: Path) -> None:
    """Dollar signs in a metric's name are not mathtext (which would fail to parse)."""
    rec = sr.heat_run(0)
    for t in rec.tasks:
        t.metrics = {"cost_$$": 1.0 + t.index, "a$b^c": 2.0}
    found = results.section(heat(repo), [sr.run(rec)], "e.md")
    assert found.plots and all(sum(markers(p)) == 6 for p in found.plots)
