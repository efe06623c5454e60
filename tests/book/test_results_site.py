"""The results view in a built site: a real heat-sweep run given metrics (from its own
summary.json files), 50 older runs written as records, images among a task's outputs; the book
built strictly by mso; the heat page opened in headless Chromium at 1280x900."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runner.book import plots
from tests.book import sweep_records as sr
from tests.book.browser import browser
from tests.book.conftest import copy_repo
from tests.book.test_browser import served  # noqa: F401 - serves `built`, this module's
from tests.conftest import mso

SVG = "{http://www.w3.org/2000/svg}"
HEAT = """\
name: heat-sweep
description: How fast does the heat of two bumps decay, across diffusivity and resolution?
application: heat@1.2.0
infrastructure: local
parameters: {t_end: 0.1}
matrix: {nu: [0.05, 0.1, 0.2], n: [32, 64]}
inputs: {initial: gaussian-bump}
"""
HOSTILE_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(7)">'
               b"<script>alert(8)</script></svg>")


def _image_outputs(folder: Path, task: dict) -> None:
    """A small PNG, a plain SVG, an SVG with a script and a PNG too large for the book."""
    from PIL import Image
    png = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(png, format="PNG")
    plain = plots.render(plots.Plot("t", "x", "y", (plots.Series("", (1, 2), (1, 2)),)))
    files = {"out/plot.png": png.getvalue(), "out/fig.svg": plain, "out/evil.svg": HOSTILE_SVG,
             "out/huge.png": os.urandom(3 * 1024 * 1024)}
    for rel, data in files.items():
        (folder / task["id"] / rel).write_bytes(data)
        task["outputs"].append({"path": rel, "size": len(data), "stored": "results",
                                "sha256": hashlib.sha256(data).hexdigest()})


@pytest.fixture(scope="module")
def results_site(ran: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture repository with metrics, 51 heat-sweep runs and task images, built."""
    repo = copy_repo(ran, tmp_path_factory.mktemp("results-site") / "repo")
    (repo / "experiments" / "heat-sweep.yaml").write_text(HEAT)   # no plots declared
    [path] = (repo / "results" / "heat-sweep").glob("*/run.json")
    data = json.loads(path.read_text())
    for t in data["tasks"]:
        summary = json.loads((path.parent / t["id"] / "out" / "summary.json").read_text())
        t["metrics"] = {k: summary[k] for k in ("heat_ratio", "max")}
    del data["tasks"][4]["metrics"]["max"]    # a point without it: 5 markers in its plots
    _image_outputs(path.parent, data["tasks"][0])
    path.write_text(json.dumps(data, indent=1))
    for n in range(50):   # older than the real run (2025): the archive gets one
        sr.write(repo, sr.heat_run(n, 1 + n / 100))
    done = mso("book", "build", "--strict", repo=repo, timeout=600)
    assert done.returncode == 0, done.stderr
    return repo


def _html(results_site: Path, rel: str) -> str:
    return (results_site / "site" / rel).read_text()


def _latest(results_site: Path) -> dict:
    return max((json.loads(p.read_text()) for p in (results_site / "results/heat-sweep").glob("*/run.json")),
               key=lambda r: r["run_id"])


def _markers(svg: Path) -> int:
    root = ET.fromstring(svg.read_bytes())
    return sum(len(list(g.iter(f"{SVG}use"))) for g in root.iter(f"{SVG}g")
               if g.get("id", "").startswith("series-"))


@pytest.mark.integration
def test_heat_page_has_the_metrics_table(results_site: Path) -> None:
    html = _html(results_site, "experiments/heat-sweep.html")
    results = html.split('id="results"', 1)[1].split("</table>", 1)[0]
    head = re.findall(r"<th[^>]*>(.*?)</th>", results)
    assert [re.sub(r"<[^>]+>", "", h) for h in head] == ["Task", "nu", "n", "heat_ratio", "max"]
    rec = _latest(results_site)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", results)
    rows = [cells[i:i + 5] for i in range(0, len(cells), 5)]
    assert len(rows) == len(rec["tasks"]) == 6
    by_task = {re.sub(r"<[^>]+>", "", r[0]): r for r in rows}
    for t in rec["tasks"]:
        assert by_task[t["id"]][3] == f"{t['metrics']['heat_ratio']:.4g}"
    assert [(r[1], r[2]) for r in rows] == [(str(nu), str(n)) for nu in (0.05, 0.1, 0.2)
                                            for n in (32, 64)]


@pytest.mark.integration
def test_default_plots_have_a_marker_per_point_and_alt_text(results_site: Path) -> None:
    html = _html(results_site, "experiments/heat-sweep.html")
    latest = html.split('id="results"', 1)[1].split('id="across-runs"', 1)[0]
    images = re.findall(r'<img alt="([^"]+)" src="\.\./(assets/plots/\w+\.svg)"', latest)
    titles = [alt.split(":", 1)[0] for alt, _ in images]
    assert titles == ["heat_ratio by nu (a line per n)", "heat_ratio by n (a line per nu)",
                      "max by nu (a line per n)", "max by n (a line per nu)"]
    tasks = _latest(results_site)["tasks"]
    for (alt, src), title in zip(images, titles):
        metric = title.split(" by ")[0]
        expected = sum(metric in t["metrics"] for t in tasks)
        assert f"({expected} points, " in alt
        assert _markers(results_site / "site" / src) == expected == (6 if metric == "heat_ratio" else 5)
    assert "Choose the plots by declaring them" in latest


@pytest.mark.integration
def test_history_plots_across_runs(results_site: Path) -> None:
    html = _html(results_site, "experiments/heat-sweep.html")
    history = html.split('id="across-runs"', 1)[1].split('id="parameters"', 1)[0]
    images = re.findall(r'<img alt="([^"]+)" src="\.\./(assets/plots/\w+\.svg)"', history)
    # heat_ratio is in the latest run only: no history; max is in the last 20 runs (the real
    # one, with 5 points that have it, and 19 of those written before it, with 6)
    assert [alt.split(":", 1)[0] for alt, _ in images] == ["max across runs"]
    assert _markers(results_site / "site" / images[0][1]) == 19 * 6 + 5


@pytest.mark.integration
def test_fifty_runs_listed_and_an_archive_for_the_rest(results_site: Path) -> None:
    html = _html(results_site, "experiments/heat-sweep.html")
    runs = html.split('id="runs"', 1)[1]
    assert len(set(re.findall(r'href="\.\./runs/heat-sweep/[^"]+/index.html"', runs))) == 50
    assert '<a href="heat-sweep/archive.html">1 older run</a>' in runs
    archive = _html(results_site, "experiments/heat-sweep/archive.html")
    assert f'href="../../runs/heat-sweep/{sr.run_id(0)}/index.html"' in archive
    index = json.loads(_html(results_site, "search/search_index.json"))
    assert not [d for d in index["docs"] if "archive" in d["location"]]


@pytest.mark.integration
def test_task_images_are_shown_inline(results_site: Path) -> None:
    rec = _latest(results_site)
    folder = f"runs/heat-sweep/{rec['run_id']}"
    html = _html(results_site, f"{folder}/index.html")
    assert '<img alt="out/plot.png" src="main-0000/out/plot.png"' in html
    assert '<img alt="out/fig.svg" src="main-0000/out/fig.svg"' in html
    assert (results_site / "site" / folder / "main-0000/out/plot.png").is_file()
    # an SVG with a script is a file to download, as text, never an image on the page
    assert 'alt="out/evil.svg"' not in html and 'href="main-0000/out/evil.svg.txt"' in html
    assert not (results_site / "site" / folder / "main-0000/out/evil.svg").exists()
    assert "<code>out/huge.png</code> (3.0 MiB)" in html
    assert not (results_site / "site" / folder / "main-0000/out/huge.png").exists()


@pytest.fixture(scope="module")
def built(results_site: Path) -> Path:
    """This module's built book, for test_browser's `served` (which serves `built`)."""
    return results_site


@pytest.mark.integration
def test_screenshot_shows_the_table_and_a_plot(chromium: str, served: str, tmp_path: Path) -> None:
    from PIL import Image
    url = f"{served}/experiments/heat-sweep.html"
    shot = tmp_path / "heat-results.png"
    done = browser(chromium, tmp_path / "profile", "--window-size=1280,900", f"--screenshot={shot}",
                   url)
    assert shot.is_file(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 900)
    # the first plot's second line is matplotlib's orange (#ff7f0e), a colour the theme never
    # uses: seen in the screenshot, the plot is on the first screen (the table is above it)
    orange = sum(n for n, c in image.getcolors(1280 * 900) if _near(c, (255, 127, 14)))
    assert orange > 50, shot
    dom = browser(chromium, tmp_path / "profile", "--window-size=1280,900", "--dump-dom", url)
    section = dom.stdout.split('id="results"', 1)[1]
    assert "<th>heat_ratio</th>" in section.split("</table>", 1)[0].replace("<strong>", "") \
        .replace("</strong>", "")
    print(f"screenshot: {shot}")


def _near(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 30 for a, b in zip(pixel, colour))
