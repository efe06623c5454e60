"""Shared fixtures: a copy of the example repository and the `mso` command run as a process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ("applications", "datasets", "infrastructures", "experiments")


def mso(*args: str, repo: Path, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """Run `python -m runner -C repo ARGS` and capture its output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **kw.pop("env", {})}
    return subprocess.run([sys.executable, "-m", "runner", "-C", str(repo), *args],
                          capture_output=True, text=True, timeout=timeout, env=env, **kw)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A fresh copy of the example repository (declarations only, no results)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for folder in EXAMPLE:
        shutil.copytree(ROOT / folder, repo / folder)
    return repo


COUNTER_APP = """\
name: counter
version: "1"
description: Appends its label to a ledger (to count executions), sleeps, writes an output.
command: [python, count.py, "{ledger}", "{label}", "{sleep}", "{code}"]
parameters:
  type: object
  properties:
    ledger: {type: string}
    label: {type: string}
    sleep: {type: number, minimum: 0, default: 0}
    code: {type: integer, default: 0}
outputs: [out.txt]
"""

COUNTER_PY = """\
import sys, time
ledger, label, sleep, code = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
with open(ledger, "a") as fh:
    fh.write(label + "\\n")
time.sleep(sleep)
open("out.txt", "w").write(label + "\\n")
print("counted", label)
sys.exit(code)
"""


@pytest.fixture
def counter(example: Path) -> Path:
    """The example repository plus `counter`, an application that records each execution."""
    (example / "applications" / "counter").mkdir()
    (example / "applications" / "counter.yaml").write_text(COUNTER_APP)
    (example / "applications" / "counter" / "count.py").write_text(COUNTER_PY)
    return example


def counter_experiment(repo: Path, name: str, labels: list[str], sleep: float = 0,
                       extra: str = "") -> Path:
    """Write experiments/<name>.yaml sweeping `labels`; returns the ledger path."""
    ledger = repo / f"{name}.ledger"
    (repo / "experiments" / f"{name}.yaml").write_text(
        f"name: {name}\napplication: counter@1\n"
        f"parameters: {{ledger: '{ledger}', sleep: {sleep}}}\n"
        f"matrix: {{label: [{', '.join(labels)}]}}\n{extra}")
    return ledger
