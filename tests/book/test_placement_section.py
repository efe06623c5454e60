"""The run page's Placement section: the summary line, each candidate's predicted times beside
what happened on the chosen one, and the inputs behind them, escaped; rendered with
Python-Markdown, then once in a book built strictly from a real run given a placement."""

from __future__ import annotations

import json
import re
from pathlib import Path

import markdown

from runner.book.pages import placement
from runner.results import markdown as md
from runner.state import RunRecord, TaskRecord
from tests.book.conftest import copy_repo
from tests.book.test_markdown import EXTENSIONS
from tests.conftest import mso

HOSTILE_WHY = "squeue said <script>alert(9)</script> | [x](javascript:alert(9)) *em*"


def _decision(predicted_at: str, chosen: str = "cluster") -> dict:
    cluster = {"wait": 820.0, "boot": 0.0, "transfer": 0.0, "run": 360.0, "total": 1180.0,
               "why": {"run": "median of 12 earlier tasks", "wait": HOSTILE_WHY}}
    return {"steps": ["main"], "candidates": ["cluster", "cloud", "local"], "mode": "auto",
            "chosen": chosen, "predicted_at": predicted_at,
            "predictions": {"cluster": cluster,
                            "local": {**cluster, "wait": 0.0, "run": 3600.0, "total": 3600.0,
                                      "why": {"run": "no earlier run: the walltime asked"}}},
            "unpredicted": {"cloud": "no openstack credentials <b>here</b>"}}


def _rows(html: str) -> dict[str, list[str]]:
    """The placement table's rows by their first cell's text, each a list of cell texts."""
    rows = re.findall(r"<tr>\s*(.*?)\s*</tr>", html, re.S)
    cells = [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", r, re.S)]
             for r in rows]
    return {c[0]: c[1:] for c in cells if c}


def test_predicted_against_actual_with_the_reasons_escaped() -> None:
    done = TaskRecord("main-0000", "main", 0, {}, state="succeeded",
                      submitted="2026-12-02T08:00:10Z", started="2026-12-02T08:14:00Z",
                      ended="2026-12-02T08:20:30Z")
    record = RunRecord("20261202T080000Z-0000000e", "heat", "ab" * 32,
                       {"name": "heat", "version": "1"}, {"name": "cluster", "kind": "slurm"},
                       [done], state="succeeded", placement=[_decision("2026-12-02T08:00:00Z")])
    html = markdown.markdown(placement.section(record), extensions=EXTENSIONS)
    rows = _rows(html)
    assert rows["cluster (chosen)"] == ["13 min 40 s", "0 s", "0 s", "6 min 00 s", "19 min 40 s"]
    assert rows["cloud"] == [md.NONE] * 5
    assert rows["local"] == ["0 s", "0 s", "0 s", "1 h 00 min", "1 h 00 min"]
    assert rows["actual, on cluster"] == ["13 min 50 s", "0 s", "0 s", "6 min 30 s", "20 min 30 s"]
    assert "<strong>cluster: wait ~14 min + run 6 min; cloud: not predicted (no openstack " \
           "credentials &lt;b&gt;here&lt;/b&gt;); local: run 1 h 00 min → cluster</strong>" in html
    assert "<li>cluster, wait: squeue said &lt;script&gt;alert(9)&lt;/script&gt; | " \
           "[x](javascript:alert(9)) *em*</li>" in html
    assert "<li>cloud: not predicted: no openstack credentials &lt;b&gt;here&lt;/b&gt;</li>" in html
    assert "<script>" not in html and "<em>" not in html and "<a " not in html


def test_a_built_run_page_shows_its_placement(ran: Path, tmp_path: Path) -> None:
    repo = copy_repo(ran, tmp_path / "repo")
    [path] = (repo / "results/heat-sweep").glob("*/run.json")
    data = json.loads(path.read_text())
    data["placement"] = [_decision(data["created"], chosen="local")]
    path.write_text(json.dumps(data, indent=1))
    done = mso("book", "build", "--strict", repo=repo)
    assert done.returncode == 0, done.stderr
    page = (repo / "site/runs/heat-sweep" / data["run_id"] / "index.html").read_text("utf-8")
    assert re.search(r"<h2[^>]*>Placement", page)
    rows = _rows(page)
    assert rows["local (chosen)"][3] == "1 h 00 min" and rows["cluster"][0] == "13 min 40 s"
    started = min(md.parse_time(t["started"]) for t in data["tasks"])
    ended = max(md.parse_time(t["ended"]) for t in data["tasks"])
    assert rows["actual, on local"][3] == md.duration((ended - started).total_seconds())
    assert "&lt;script&gt;alert(9)&lt;/script&gt;" in page and "<script>alert(9)" not in page
