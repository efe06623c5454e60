"""Per-point reuse: a run takes over every point that succeeded before with the same identity and
runs only new, changed and failed ones; `mso plan` says which and why. Real `mso` processes on
the `local` infrastructure; the counter application's ledger says what really ran."""

from __future__ import annotations

import json
from pathlib import Path

from runner import state
from tests.conftest import mso

PROBE_APP = """\
name: probe
version: "1"
description: Appends its point to a ledger; fails while a marker file names its label.
command: [python3, probe.py, "{ledger}", "{label}", "{k}", "{wait}"]
parameters:
  type: object
  properties:
    ledger: {type: string}
    label: {type: string}
    k: {type: integer}
    wait: {type: number, default: 0}
outputs: [out.txt]
"""

PROBE_PY = """\
import os, sys, time
ledger, label, k, wait = sys.argv[1:5]
with open(ledger, "a") as fh:
    fh.write(f"{label}{k}\\n")
time.sleep(float(wait))
marker = ledger + ".fail"
if os.path.exists(marker) and open(marker).read().strip() == label:
    print("failing on purpose", file=sys.stderr)
    sys.exit(1)
open("out.txt", "w").write(f"{label} {k}\\n")
"""


def _probe(repo: Path, labels: str = "[a, b, c]", steps: str = "") -> Path:
    (repo / "applications" / "probe").mkdir(exist_ok=True)
    (repo / "applications" / "probe.yaml").write_text(PROBE_APP)
    (repo / "applications" / "probe" / "probe.py").write_text(PROBE_PY)
    ledger = repo / "ledger"
    (repo / "experiments" / "sweep.yaml").write_text(
        f"name: sweep\napplication: probe\nparameters: {{ledger: '{ledger}'}}\n"
        f"matrix: {{label: {labels}, k: [1, 2]}}\n{steps}")
    return ledger


def _ran(ledger: Path) -> list[str]:
    lines = sorted(ledger.read_text().split()) if ledger.exists() else []
    ledger.write_text("")
    return lines


def _latest(repo: Path) -> state.RunRecord:
    return state.records(repo / "results", "sweep")[-1][1]


def _plan(repo: Path) -> dict:
    proc = mso("plan", "--json", "sweep", repo=repo)
    assert proc.returncode == 0, proc.stderr
    [entry] = json.loads(proc.stdout)["experiments"]
    return entry


def test_one_changed_matrix_value_runs_only_its_points(example: Path) -> None:
    ledger = _probe(example)
    assert mso("run", "sweep", repo=example).returncode == 0
    first = _latest(example)
    assert len(_ran(ledger)) == 6
    exp = example / "experiments" / "sweep.yaml"
    exp.write_text(exp.read_text().replace("[a, b, c]", "[a, b, d]"))
    plan = _plan(example)
    assert plan["points"] == {"new": 2, "reused": 4, "failed_before": 0, "rerun": 0}
    assert plan["changes"] == ['matrix.label: ["a", "b", "c"] → ["a", "b", "d"]']
    assert [s["parameters"]["label"] for s in plan["scripts"]] == ["d", "d"]
    proc = mso("run", "sweep", repo=example)
    assert proc.returncode == 0 and "2 new, 4 reused, 0 failed before" in proc.stderr
    assert _ran(ledger) == ["d1", "d2"]
    second = _latest(example)
    by_point = {(t.parameters["label"], t.parameters["k"]): t for t in first.tasks}
    for t in second.tasks:
        if t.parameters["label"] == "d":
            assert t.reused is None and t.state == state.State.SUCCEEDED
            continue
        origin = by_point[(t.parameters["label"], t.parameters["k"])]
        assert t.reused == {"run": first.run_id, "task": origin.id}
        assert t.identity == origin.identity and t.outputs == origin.outputs
        folder = example / "results" / "sweep" / second.run_id
        assert (folder / t.id / "out.txt").read_text() == f"{t.parameters['label']} {t.parameters['k']}\n"
    again = mso("run", "sweep", repo=example)
    assert again.returncode == 0 and "up to date" in again.stderr and _ran(ledger) == []


def test_a_failed_point_alone_runs_again_and_rerun_failed_leaves_new_points(example: Path) -> None:
    ledger = _probe(example)
    Path(f"{ledger}.fail").write_text("b")
    failed = mso("run", "sweep", repo=example)
    assert failed.returncode == 2 and len(_ran(ledger)) == 6
    assert _plan(example)["points"] == {"new": 0, "reused": 4, "failed_before": 2, "rerun": 0}
    Path(f"{ledger}.fail").unlink()
    exp = example / "experiments" / "sweep.yaml"
    exp.write_text(exp.read_text().replace("[a, b, c]", "[a, b, c, e]"))
    skipped = mso("run", "--rerun-failed", "sweep", repo=example)
    assert skipped.returncode == 0 and "skipped (2 new points" in skipped.stderr
    assert _ran(ledger) == []
    exp.write_text(exp.read_text().replace("[a, b, c, e]", "[a, b, c]"))
    retried = mso("run", "--rerun-failed", "sweep", repo=example)
    assert retried.returncode == 0, retried.stderr
    assert _ran(ledger) == ["b1", "b2"]
    assert sum(t.reused is not None for t in _latest(example).tasks) == 4
    forced = mso("run", "--force", "sweep", repo=example)
    assert forced.returncode == 0 and len(_ran(ledger)) == 6


def test_a_changed_default_reruns_only_the_points_that_use_it(example: Path) -> None:
    """Two steps sweep the same points: one sets `wait`, the other takes the default."""
    ledger = _probe(example, steps="steps:\n  - {name: set, parameters: {wait: 0}}\n"
                                   "  - {name: default}\n")
    assert mso("run", "sweep", repo=example).returncode == 0 and len(_ran(ledger)) == 12
    app = example / "applications" / "probe.yaml"
    app.write_text(app.read_text().replace("default: 0}", "default: 0.01}"))
    plan = _plan(example)
    assert plan["points"]["new"] == 6 and plan["points"]["reused"] == 6
    assert plan["changes"] == ["application probe: parameters.properties.wait.default: 0 → 0.01"]
    assert mso("run", "sweep", repo=example).returncode == 0
    ran = {t.id.split("-")[0] for t in _latest(example).tasks if t.reused is None}
    assert ran == {"default"} and len(_ran(ledger)) == 6


def test_a_changed_application_file_reruns_its_points_and_plan_names_it(example: Path) -> None:
    ledger = _probe(example)
    assert mso("run", "sweep", repo=example).returncode == 0 and len(_ran(ledger)) == 6
    with (example / "applications" / "probe" / "probe.py").open("a") as fh:
        fh.write("# a comment changes the file\n")
    plan = _plan(example)
    assert plan["changes"] == ["applications/probe/probe.py changed"]
    assert plan["points"]["new"] == 6
    assert mso("run", "sweep", repo=example).returncode == 0 and len(_ran(ledger)) == 6


def test_a_changed_dataset_reruns_the_points_that_read_it(example: Path) -> None:
    """The heat example reads gaussian-bump; a new version of it (with its new sha256) reruns
    every point, and plan says the dataset changed."""
    assert mso("run", "heat-sweep", repo=example).returncode == 0
    data = example / "datasets" / "data" / "gaussian-bump.json"
    bump = json.loads(data.read_text())
    data.write_text(json.dumps({**bump, "note": "version 2"}))
    from runner.fsutil import sha256_file
    decl = example / "datasets" / "gaussian-bump.yaml"
    text = decl.read_text()
    old = next(line for line in text.splitlines() if line.startswith("sha256:"))
    decl.write_text(text.replace(old, f"sha256: {sha256_file(data)}")
                    .replace("size: 205", f"size: {data.stat().st_size}"))
    proc = mso("plan", "--json", "heat-sweep", repo=example)
    [plan] = json.loads(proc.stdout)["experiments"]
    assert "dataset gaussian-bump: sha256 changed" in plan["changes"]
    assert plan["points"]["new"] == 6


def test_the_book_shows_a_reused_point_with_a_link_to_where_it_ran(example: Path) -> None:
    import re
    ledger = _probe(example)
    assert mso("run", "sweep", repo=example).returncode == 0
    exp = example / "experiments" / "sweep.yaml"
    exp.write_text(exp.read_text().replace("[a, b, c]", "[a, b, d]"))
    assert mso("run", "sweep", repo=example).returncode == 0 and len(_ran(ledger)) == 8
    first, second = (r for _, r in state.records(example / "results", "sweep"))
    site = example / "site"
    built = mso("book", "build", "--site", str(site), repo=example, timeout=300)
    assert built.returncode == 0, built.stderr
    [page] = [p for p in site.rglob("*.html") if second.run_id in p.parent.name or
              second.run_id in p.name]
    html = page.read_text()
    reused = [t for t in second.tasks if t.reused]
    assert len(reused) == 4 and html.count("(reused)") == 4
    for t in reused:
        link = re.search(rf'href="([^"]*{first.run_id}[^"]*#{t.reused["task"]})"', html)
        assert link, f"no link from {t.id} to {first.run_id} {t.reused['task']}"
        target = (page.parent / link.group(1).split("#")[0]).resolve()
        if target.is_dir():
            target = target / "index.html"
        assert target.is_file() and f'id="{t.reused["task"]}"' in target.read_text()
