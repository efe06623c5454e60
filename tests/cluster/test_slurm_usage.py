"""Resources asked and used, on the test Slurm cluster: a run's record holds the queue wait and
CPU time that sacct itself reports for its jobs (asked here independently), and its book page
shows them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from runner.book.build import build
from runner.results import markdown as md
from runner.results.book_paths import run_folder
from tests.conftest import mso

pytestmark = pytest.mark.integration

BURN_APP = """\
name: burn
version: "1"
description: Spins the CPU for a while.
command: [python3, burn.py, "{seconds}"]
parameters: {type: object, properties: {seconds: {type: number, minimum: 0}}}
"""
BURN_PY = """import sys, time
t = time.process_time()
while time.process_time() - t < float(sys.argv[1]):
    pass
"""
EXPERIMENT = """\
name: burn
application: burn@1
infrastructure: cluster
matrix: {seconds: [1, 2]}
resources: {cpus_per_task: 1, memory: 256M, walltime: "00:05:00"}
"""


def _sacct(job_id: str) -> dict[str, str]:
    """What sacct says of one job's allocation (with its steps, so TotalCPU is summed)."""
    out = subprocess.run(["sacct", "-P", "-n", "-o", "JobID,State,Submit,Start,TotalCPU", "-j", job_id],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split("|")
        if fields[0] == job_id:
            return dict(zip(("id", "state", "submit", "start", "cpu"), fields))
    return {}


def _seconds(total_cpu: str) -> float:
    """sacct's `[D-][HH:]MM:SS[.mmm]`, read here on its own (not with mso's parser)."""
    days, _, rest = total_cpu.rpartition("-")
    parts = [float(p) for p in rest.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return (int(days or 0) * 24 + parts[0]) * 3600 + parts[1] * 60 + parts[2]


def _git(repo: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ana Tester", "GIT_AUTHOR_EMAIL": "ana@example.org",
           "GIT_COMMITTER_NAME": "Ana Tester", "GIT_COMMITTER_EMAIL": "ana@example.org"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "burn"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def test_queue_wait_and_cpu_time_are_sacct_s_and_shown(on_cluster: Path) -> None:
    repo = on_cluster
    (repo / "applications" / "burn").mkdir()
    (repo / "applications" / "burn.yaml").write_text(BURN_APP)
    (repo / "applications" / "burn" / "burn.py").write_text(BURN_PY)
    (repo / "experiments" / "burn.yaml").write_text(EXPERIMENT)
    _git(repo)
    proc = mso("run", "burn", repo=repo, timeout=300)
    assert proc.returncode == 0, proc.stderr
    [path] = sorted((repo / "results" / "burn").glob("*/run.json"))
    rec = json.loads(path.read_text())
    gitlab = os.environ.get("GITLAB_USER_LOGIN") or os.environ.get("GITLAB_USER_NAME")
    assert rec["triggered_by"] == (gitlab or "Ana Tester")
    for t in rec["tasks"]:
        assert t["requested"] == {"cpus": 1, "memory_mb": 256, "walltime_s": 300}
        deadline = time.monotonic() + 60   # slurmdbd may lag a moment behind what mso saw
        while not (acct := _sacct(t["job_id"])).get("state", "").startswith("COMPLETED"):
            assert time.monotonic() < deadline, f"sacct never told {t['job_id']}'s end"
            time.sleep(0.5)
        wait = (datetime.fromisoformat(acct["start"]) - datetime.fromisoformat(acct["submit"])).total_seconds()
        used = t["usage"]
        assert used["source"] == "sacct", used
        assert used["queue_wait_s"] == wait
        assert used["cpu_s"] == pytest.approx(_seconds(acct["cpu"]), abs=0.001)
        assert used["cpu_s"] >= t["parameters"]["seconds"] * 0.9   # the burn is there
    build(repo)
    html = (repo / "site" / run_folder("burn", rec["run_id"]) / "index.html").read_text()
    resources = html[html.index('id="resources"'):]
    for t in rec["tasks"]:
        row = re.search(r"<tr>\s*<td>" + re.escape(t["id"]) + r"</td>(.*?)</tr>", resources, re.S)
        assert row, f"no Resources row for {t['id']}"
        cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
        assert cells[4] == md.duration(t["usage"]["cpu_s"]), cells
        assert cells[6] == md.duration(t["usage"]["queue_wait_s"]), cells
        assert cells[:3] == ["1", md.size(256 * 1024 * 1024), md.duration(300)], cells
