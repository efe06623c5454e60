#!/usr/bin/env python3
"""Per-point reuse at scale: a 10 x 100 sweep of a trivial command runs once on `local`; then one
value is added to the 10-value axis, and `mso plan` must say 100 new and 1000 reused.

Its headline is the plan's wall time for the 1100-point sweep (a whole `mso plan --json`
process: start, validation, the data check, resolving 1100 tasks, their identities, the history
of the earlier run, the scripts of the 100 that run). For scale it also prints the time of the
same process on a one-point experiment in the same repository, measured in the same run.

    .venv/bin/python bench/reuse.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MSO = [sys.executable, "-m", "runner"]

APP = """\
name: touch
version: "1"
description: Writes its point into a file (a trivial command).
command: [sh, -c, 'echo "$0 $1" > out.txt', "{a}", "{b}"]
parameters:
  type: object
  properties:
    a: {type: integer}
    b: {type: integer}
outputs: [out.txt]
"""


def experiment(name: str, a: list[int], b: int) -> str:
    return (f"name: {name}\napplication: touch\ninfrastructure: local\n"
            f"matrix: {{a: {a}, b: {list(range(b))}}}\n")


def mso(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*MSO, "-C", str(repo), *args], capture_output=True, text=True, env=env)


def timed_plan(repo: Path, name: str) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = mso(repo, "plan", "--json", name)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"mso plan failed: {proc.stderr}")
    [entry] = json.loads(proc.stdout)["experiments"]
    return took, entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="plans timed (the median is reported)")
    args = ap.parse_args()
    repo = Path(tempfile.mkdtemp(prefix="mso-bench-reuse-"))
    try:
        for folder in ("applications", "experiments", "infrastructures", "datasets"):
            (repo / folder).mkdir()
        (repo / "applications" / "touch.yaml").write_text(APP)
        sweep = repo / "experiments" / "sweep.yaml"
        sweep.write_text(experiment("sweep", list(range(10)), 100))
        (repo / "experiments" / "one.yaml").write_text(experiment("one", [0], 1))
        start = time.perf_counter()
        proc = mso(repo, "run", "sweep")
        if proc.returncode != 0:
            sys.exit(f"the first run failed: {proc.stderr[-2000:]}")
        print(f"first run: 1000 tasks in {time.perf_counter() - start:.1f} s")
        sweep.write_text(experiment("sweep", list(range(11)), 100))
        times, entry = [], {}
        for _ in range(args.repeat):
            took, entry = timed_plan(repo, "sweep")
            times.append(took)
        small = statistics.median(timed_plan(repo, "one")[0] for _ in range(args.repeat))
        points = entry["points"]
        print(f"plan says: {points['new']} new, {points['reused']} reused, "
              f"{points['failed_before']} failed before; to run {entry['to_run']} of {entry['tasks']}")
        if (points["new"], points["reused"]) != (100, 1000):
            sys.exit("the plan's counts are wrong: expected 100 new and 1000 reused")
        print(f"plan of a one-point experiment (same process, same repository): {small:.3f} s")
        print(f"plan of the 1100-point sweep: {', '.join(f'{t:.3f}' for t in times)} s")
        print(f"plan_seconds = {statistics.median(times):.3f} (goal <= 1)")
    finally:
        shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    main()
