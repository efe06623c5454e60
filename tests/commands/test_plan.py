"""`mso plan`: which experiments would run, where and why, from results/ and git."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import add_counter, mso


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def gitrepo(example: Path) -> Path:
    add_counter(example)
    (example / "experiments" / "count.yaml").write_text(
        f"name: count\napplication: counter\nparameters: {{ledger: '{example}/l', label: a}}\n")
    _git(example, "init", "-q")
    _git(example, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    _git(example, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return example


def _plan(repo: Path, *args: str) -> dict:
    proc = mso("plan", "--json", *args, repo=repo)
    assert proc.returncode == 0, proc.stderr
    return {e["experiment"]: e for e in json.loads(proc.stdout)["experiments"]}


def test_new_then_up_to_date_then_changed_then_failed(gitrepo: Path) -> None:
    first = _plan(gitrepo)
    assert {n: (e["runs"], e["reason"]) for n, e in first.items()} == {
        "heat-sweep": (True, "new"), "heat-sweep-cluster": (True, "new"), "count": (True, "new")}
    assert first["heat-sweep"]["tasks"] == 6 and first["heat-sweep"]["infrastructures"] == ["local"]
    assert "#!/bin/bash" in first["count"]["scripts"][0]["script"]
    assert mso("run", "count", repo=gitrepo).returncode == 0
    after = _plan(gitrepo)["count"]
    assert (after["runs"], after["reason"], after["scripts"]) == (False, "up to date", [])
    exp = gitrepo / "experiments" / "count.yaml"
    exp.write_text(exp.read_text().replace("label: a", "label: b, code: 4"))
    changed = _plan(gitrepo)["count"]
    assert changed["reason"] == "changed" and changed["changes"] == [
        'parameters.code: (not set) → 4', 'parameters.label: "a" → "b"']
    assert mso("run", "count", repo=gitrepo).returncode == 2
    assert _plan(gitrepo)["count"]["reason"] == "failed before"
    assert not (gitrepo / "results" / "heat-sweep").exists(), "plan runs nothing"


def test_changed_since_selects_what_the_changed_files_touch(gitrepo: Path) -> None:
    assert _plan(gitrepo, "--changed-since", "HEAD") == {}
    (gitrepo / "applications" / "counter" / "count.py").write_text("# changed\n")
    only = _plan(gitrepo, "--changed-since", "HEAD")
    assert list(only) == ["count"]
    assert only["count"]["changed_files"] == ["applications/counter/count.py"]
    data = gitrepo / "datasets" / "data" / "gaussian-bump.json"
    data.write_text(data.read_text())  # same bytes: git sees no change
    (gitrepo / "datasets" / "gaussian-bump.yaml").write_text(
        (gitrepo / "datasets" / "gaussian-bump.yaml").read_text().replace("Initial", "The initial"))
    both = _plan(gitrepo, "--changed-since", "HEAD")
    assert set(both) == {"count", "heat-sweep", "heat-sweep-cluster"}   # both use the dataset
    assert both["heat-sweep"]["changed_files"] == ["datasets/gaussian-bump.yaml"]


def test_markdown_and_text_and_bad_revision(gitrepo: Path, tmp_path: Path) -> None:
    md = tmp_path / "plan.md"
    proc = mso("plan", "--markdown", str(md), repo=gitrepo)
    assert proc.returncode == 0 and "heat-sweep" in proc.stdout and "new" in proc.stdout
    text = md.read_text()
    assert "| heat-sweep | yes | 6 of 6 | local | new: 6 new, 0 reused, 0 failed before |" in text
    assert "```bash" in text
    bad = mso("plan", "--changed-since", "no-such-rev", repo=gitrepo)
    assert bad.returncode == 1 and "git knows no revision 'no-such-rev'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_nothing_to_run_still_exits_0(gitrepo: Path) -> None:
    proc = mso("plan", "--changed-since", "HEAD", repo=gitrepo)
    assert proc.returncode == 0 and proc.stdout.strip() == "nothing to run"
