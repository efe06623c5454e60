"""A campaign larger than the site lets one user queue: the test user's association under the
campaign account caps submitted jobs at 150 (MaxSubmitJobs, set by .ci/services/cluster-up),
the infrastructure caps arrays at 101, and 1,000 tasks must still each run exactly once, with
the runner SIGKILLed once midway and resumed. (The full size is bench/campaign.py.)"""

from __future__ import annotations

import math
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.cluster.test_slurm_runs import _record, _start, _wait
from tests.conftest import mso

pytestmark = pytest.mark.integration

TASKS, ARRAY = 1000, 101
APP = """name: trivial
version: "1"
description: Does nothing, successfully.
command: ["true", "{i}"]
parameters: {type: object, properties: {i: {type: integer}}}
"""


def _campaign(repo: Path, account: str) -> None:
    cluster = (repo / "infrastructures" / "cluster.yaml").read_text()
    (repo / "infrastructures" / "campaign.yaml").write_text(
        cluster.replace("name: cluster", "name: campaign")
        + f"account: {account}\nlimits: {{max_array_size: {ARRAY}}}\n")
    (repo / "applications" / "trivial.yaml").write_text(APP)
    (repo / "experiments" / "campaign.yaml").write_text(
        "name: campaign\napplication: trivial\ninfrastructure: campaign\n"
        f"matrix: {{i: {list(range(TASKS))}}}\n")


def _waiting(repo: Path) -> bool:
    """Some tasks queued and others held back by the site's limit, as the record says."""
    try:
        tasks = _record(repo, "campaign")["tasks"]
    except (ValueError, FileNotFoundError):
        return False
    return any(t["job_id"] for t in tasks) and any(
        t["state"] == "pending" and "AssocMaxSubmitJobLimit" in (t["reason"] or "") for t in tasks)


def _elements(run_id: str, account: str) -> list[tuple[str, str, str]]:
    """(array id, task index, state) of every array element the campaign's account ran."""
    out = subprocess.run(["sacct", "-X", "-P", "-n", "-a", "-A", account, "-S", "now-1days",
                          "-o", "JobID,JobName,State"], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        job, name, state = line.split("|")
        if name.startswith(f"mso.{run_id}.main") and "_" in job and "[" not in job:
            array, index = job.split("_")
            offset = int(name.partition("+")[2] or 0)
            found.append((array, str(offset + int(index)), state))
    return found


def test_a_campaign_under_a_submit_limit_runs_every_task_once(
        slurm: Path, cluster_env: dict[str, str]) -> None:
    account = cluster_env["MSO_TEST_SLURM_LIMITED_ACCOUNT"]
    _campaign(slurm, account)
    first = _start(slurm, "campaign")
    _wait(lambda: _waiting(slurm), 120)
    time.sleep(3)   # a few ticks more: arrays end and the next ones go in
    first.send_signal(signal.SIGKILL)
    first.wait()
    again = mso("run", "campaign", repo=slurm, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    rec = _record(slurm, "campaign")
    assert Counter(t["state"] for t in rec["tasks"]) == {"succeeded": TASKS}
    assert all(t["reason"] is None for t in rec["tasks"])
    # slurmdbd learns of the last ends a little after slurmctld
    _wait(lambda: len(_elements(rec["run_id"], account)) >= TASKS, 120)
    elements = _elements(rec["run_id"], account)
    runs = Counter(index for _, index, _ in elements)
    assert sorted(runs, key=int) == [str(i) for i in range(TASKS)] and set(runs.values()) == {1}
    assert {state for _, _, state in elements} == {"COMPLETED"}
    # whole arrays only: the refusals are not submissions, and nothing was submitted twice
    assert len({array for array, _, _ in elements}) <= math.ceil(TASKS / ARRAY)
