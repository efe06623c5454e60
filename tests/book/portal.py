"""A book with the figures of a busy project: the real runs of the book fixture, plus run records
written here with users, requested resources and used CPU time (as the wrapper and the scheduler's
accounting fill them in), a run with a long reason and long parameters, and private datasets with
and without owners. Built once per session, in a pipeline's environment (CI_PROJECT_URL)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from tests.book.conftest import PRIVATE_LOCATION, copy_repo
from tests.conftest import mso

PROJECT_URL = "https://gitlab.example.org/lab/heat-book"
LONG_WORD = "sbatch-error-" + "x" * 240
LONG_RUN = "20250301T090000Z-0badc0de"
OWNED = "owned-field"

# (run id, user, infrastructure, tasks: (requested, usage, seconds from start to end, reused))
SYNTHETIC = [
    ("20250110T080000Z-aaaa0001", "ana", "cluster",
     [({"cpus": 4, "memory_mb": 2048}, {"elapsed_s": 1800, "cpu_s": 6000, "source": "sacct"},
       1800, False)] * 3),
    ("20250203T120000Z-aaaa0002", "ana", "local", [(None, None, 90, False)] * 2),
    ("20250214T170000Z-bbbb0003", "bob", "cluster",
     [({"cpus": 16, "memory_mb": 65536, "walltime_s": 10800},
       {"elapsed_s": 7200, "cpu_s": 100000, "queue_wait_s": 40, "source": "sacct"}, 7300, False),
      ({"cpus": 8}, {"elapsed_s": 30, "source": "wrapper"}, 30, False),
      ({"cpus": 64, "memory_mb": 999999}, {"elapsed_s": 99999, "cpu_s": 99999}, 10, True)]),
]


def _stamp(run_id: str, offset: int) -> str:
    d, t = run_id[:8], run_id[9:15]
    base = int(t[:2]) * 3600 + int(t[2:4]) * 60 + int(t[4:6]) + offset
    hh, mm, ss = base // 3600, base // 60 % 60, base % 60
    return f"{d[:4]}-{d[4:6]}-{d[6:8]}T{hh:02d}:{mm:02d}:{ss:02d}Z"


def _record(template: dict, run_id: str, user: str | None, infra: str, tasks: list) -> dict:
    rec = copy.deepcopy(template)
    rec.update(run_id=run_id, created=_stamp(run_id, 0), updated=_stamp(run_id, 1),
               infrastructure={**rec["infrastructure"], "name": infra}, state="succeeded")
    rec.pop("triggered_by", None)   # a record from before runs said who triggered them
    if user:
        rec["triggered_by"] = user
    first = rec["tasks"][0]
    rec["tasks"] = []
    for i, (asked, used, seconds, reused) in enumerate(tasks):
        task = {**copy.deepcopy(first), "id": f"main-{i:04d}", "index": i, "state": "succeeded",
                "started": _stamp(run_id, 0), "ended": _stamp(run_id, seconds), "outputs": []}
        for key, value in (("requested", asked), ("usage", used)):
            task.pop(key, None)
            if value:
                task[key] = value
        if reused:
            task["reused"] = {"run": LONG_RUN, "task": "main-0000"}
        rec["tasks"].append(task)
    return rec


def _long_run(template: dict) -> dict:
    rec = _record(template, LONG_RUN, None, "local", [(None, None, 5, False)] * 2)
    rec.update(state="failed", reason=f"the cluster said: {LONG_WORD} " * 3)
    for task in rec["tasks"]:
        task.update(state="failed", reason=f"walltime exceeded {LONG_WORD}", exit_code=1,
                    parameters={**task["parameters"], "label": "long-" + "y" * 200})
    return rec


def write_records(repo: Path) -> None:
    """The synthetic runs, beside the real ones, and a private dataset with owners."""
    [real] = (repo / "results/heat-sweep").glob("*/run.json")
    template = json.loads(real.read_text())
    records = [_record(template, *spec) for spec in SYNTHETIC] + [_long_run(template)]
    for rec in records:
        folder = repo / "results/heat-sweep" / rec["run_id"]
        folder.mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps(rec, indent=2))
    data = repo / PRIVATE_LOCATION
    (repo / "datasets" / f"{OWNED}.yaml").write_text(
        f"name: {OWNED}\ndescription: kept private\nlocation: {PRIVATE_LOCATION}\n"
        f"sha256: {hashlib.sha256(data.read_bytes()).hexdigest()}\nsize: {data.stat().st_size}\n"
        "visibility: private\nowners: [ana, bob]\n")


@pytest.fixture(scope="session")
def portal(ran: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book fixture's repository with the synthetic runs, its book built into site/."""
    repo = copy_repo(ran, tmp_path_factory.mktemp("portal") / "repo")
    write_records(repo)
    done = mso("book", "build", "--strict", repo=repo, timeout=600,
               env={"CI_PROJECT_URL": PROJECT_URL})
    assert done.returncode == 0, done.stderr
    return repo
