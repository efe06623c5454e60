"""`mso run` under GitLab CI, as a process on `local`: a task's classified log lines stream
while it runs (warnings at once, in colour), each task ends in a collapsible section of its own,
and summary lines show each run's progress."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.publish.notify import PIPELINE_VARS
from tests.conftest import ROOT, mso

TICKER_APP = """\
name: ticker
version: "1"
description: Writes a log over a few seconds, a step at a time, with a warning half-way.
command: [python3, tick.py, "{steps}", "{pause}"]
parameters:
  type: object
  properties:
    steps: {type: integer, minimum: 1, default: 8}
    pause: {type: number, minimum: 0, default: 0.5}
logs:
  - path: tick.log
    filters:
      - {pattern: "^step", severity: INFO, progress: "+1"}
      - {pattern: "^careful", severity: WARNING}
      - {pattern: "^detail", severity: INFO, verbosity: 1}
      - {pattern: "^done", severity: OK, progress: 100}
expected_steps: 8
"""

TICK_PY = """\
import sys, time
steps, pause = int(sys.argv[1]), float(sys.argv[2])
with open("tick.log", "w") as log:
    for i in range(1, steps + 1):
        print(f"step {i}", file=log, flush=True)
        print(f"detail {i}", file=log, flush=True)
        print("unclassified noise", file=log, flush=True)
        if i == steps // 2:
            print("careful: half-way", file=log, flush=True)
        time.sleep(pause)
    print("done", file=log, flush=True)
"""

SECTION = re.compile(r"\x1b\[0Ksection_start:(\d+):(mso_[a-z0-9_]+)\[collapsed=true\]\r\x1b\[0K"
                     r"ticks (main-000\d) \(pause=0\.\d\): succeeded, \d+ log lines? \(([^)]*)\)\n")
SUMMARY = re.compile(r"^ticks: [0-2]/2 done, [12] running \(main-000\d.*\), ETA \S+", re.M)


@pytest.fixture
def ticker(example: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in PIPELINE_VARS + ("MSO_GITLAB_TOKEN", "CI_MERGE_REQUEST_IID", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    (example / "applications" / "ticker").mkdir()
    (example / "applications" / "ticker.yaml").write_text(TICKER_APP)
    (example / "applications" / "ticker" / "tick.py").write_text(TICK_PY)
    (example / "experiments" / "ticks.yaml").write_text(
        "name: ticks\napplication: ticker@1\nmatrix: {pause: [0.5, 0.6]}\n")
    return example


def _raw_mso(*args: str, repo: Path, env: dict[str, str]) -> tuple[int, str]:
    """`mso` as tests/conftest.py runs it, but its stderr as written: text mode would turn the
    carriage returns of GitLab's section markers into newlines."""
    proc = subprocess.run([sys.executable, "-m", "runner", "-C", str(repo), *args],
                          capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    return proc.returncode, proc.stderr.decode()


def test_gitlab_ci_log_has_live_lines_sections_and_summaries(ticker: Path) -> None:
    code, err = _raw_mso("run", "ticks", "--summary-every", "1s", repo=ticker,
                         env={"CI": "true", "GITLAB_CI": "true"})
    assert code == 0, err
    sections = {m.group(3): m for m in SECTION.finditer(err)}
    assert sorted(sections) == ["main-0000", "main-0001"], err
    for task, start in sections.items():
        when, name = start.group(1), start.group(2)
        end = re.search(rf"\x1b\[0Ksection_end:(\d+):{name}\r\x1b\[0K\n", err)
        assert end and int(end.group(1)) >= int(when), (task, err)
        inside = err[start.end():end.start()]
        assert re.search(rf"^ticks {task} \(pause=0\.\d\): tick\.log:\d+ INFO step \d$", inside,
                         re.M), inside
        assert "detail" not in inside and "unclassified" not in inside, "verbosity 0"
        # the warning was printed at once, before its task's section, in yellow
        live = re.search(rf"^ticks {task} \(pause=0\.\d\): \x1b\[33mtick\.log:\d+ WARNING "
                         r"careful: half-way\x1b\[0m$", err, re.M)
        assert live and live.start() < start.start(), err
    summaries = SUMMARY.findall(err)
    assert summaries, err
    assert any(re.search(r"main-000\d \d+(\.\d+)? %", s) for s in summaries), summaries


def test_a_pipe_gets_plain_lines_by_verbosity_and_json_stays_quiet(
        ticker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CI", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    proc = mso("run", "ticks", "--verbosity", "1", repo=ticker)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^ticks main-0000 \(pause=0\.5\): tick\.log:\d+ INFO detail \d$",
                     proc.stderr, re.M), proc.stderr
    assert "\x1b" not in proc.stderr and "unclassified" not in proc.stderr
    assert "ticks main-0001 (pause=0.6): tick.log:" in proc.stderr
    quiet = mso("run", "ticks", "--force", "--verbosity", "1", "--json", repo=ticker)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "" and quiet.stdout.lstrip().startswith("{"), quiet.stderr
    bad = mso("run", "ticks", "--verbosity", "-1", repo=ticker)
    assert bad.returncode != 0 and "is not a verbosity" in bad.stderr
    assert "Traceback" not in bad.stderr
