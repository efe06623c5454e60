#!/usr/bin/env python3
"""A 1000-task sweep of a trivial command on the test cluster through mso (over sshd, as the
test user) against the same array submitted with raw `sbatch --array` and waited for with a
plain loop, in the same run. Also: how many submissions, status commands per status query and
SSH connections mso used.

One raw sweep alone varies by up to 15 % here (51-59 s, back to back): Slurm starts the 16
slots' next jobs on its scheduling passes, and where a pass falls decides seconds. So raw and
mso sweeps alternate, each mso sweep against the mean of the raw ones just before and after it,
and the ratio printed is the median of those (--pairs of them).

    .venv/bin/python bench/sweep.py [--tasks 1000] [--pairs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from common import cluster, repository, timed_run

APP = """name: trivial
version: "1"
description: Does nothing, successfully.
command: ["true", "{i}"]
parameters: {type: object, properties: {i: {type: integer}}}
"""
EXPERIMENT = "name: bench\napplication: trivial\ninfrastructure: cluster\nmatrix: {{i: {points}}}\n"


class Sweep(NamedTuple):
    wall: float
    phases: str      # where the wall time went, from sacct (whole seconds)
    stats: dict


def through_mso(env: dict[str, str], tasks: int) -> Sweep:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_env = repository(root, env, APP, EXPERIMENT.format(points=list(range(tasks))),
                             poll="{min: 1, max: 10}")
        t0 = time.time()
        wall, stats = timed_run(root, run_env)
        [record] = root.glob("results/bench/*/run.json")
        job = json.loads(record.read_text())["tasks"][0]["job_id"].split("_")[0]
        return Sweep(wall, phases(job, tasks, t0, t0 + wall), stats)


def raw_sbatch(env: dict[str, str], tasks: int) -> Sweep:
    """What a person would do by hand: one array, then squeue once a second until it is gone."""
    user = env["MSO_TEST_SSH_USER"]
    t0, start = time.perf_counter(), time.time()
    job = subprocess.run(["su", "-", user, "-c",
                          f"sbatch --parsable -p debug --array=0-{tasks - 1} -o /dev/null --wrap true"],
                         capture_output=True, text=True, check=True).stdout.strip()
    while subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True).stdout.strip():
        time.sleep(1)
    wall = time.perf_counter() - t0
    return Sweep(wall, phases(job, tasks, start, start + wall), {})


def phases(job: str, tasks: int, began: float, ended: float) -> str:
    """From the array's accounting: the seconds until its first element started, from then to
    its last element's end, and from then until the sweep was over (waits for slurmdbd's
    record of every element, at most 30 s)."""
    deadline, rows = time.monotonic() + 30, []
    while time.monotonic() < deadline:
        out = subprocess.run(["sacct", "-X", "-n", "-P", "-j", job, "-o", "Start,End"],
                             capture_output=True, text=True,
                             env={**os.environ, "SLURM_TIME_FORMAT": "%s"}).stdout
        rows = [r.split("|") for r in out.split() if r.count("|") == 1 and "Unknown" not in r]
        if len(rows) >= tasks:
            break
        time.sleep(1)
    if len(rows) < tasks:
        return f"(sacct listed {len(rows)} of {tasks} elements)"
    first, last = min(int(r[0]) for r in rows), max(int(r[1]) for r in rows)
    return (f"first start +{first - began:.1f} s, elements {last - first} s, "
            f"after the last end {ended - last:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=3)
    args = ap.parse_args()
    env = cluster()
    raw = [raw_sbatch(env, args.tasks)]
    print(f"raw sbatch --array + 1 s squeue loop: {raw[0].wall:.1f} s ({raw[0].phases})", flush=True)
    ratios, worst = [], {}
    for _ in range(args.pairs):
        ours = through_mso(env, args.tasks)
        print(f"mso: {ours.wall:.1f} s ({ours.phases})", flush=True)
        raw.append(raw_sbatch(env, args.tasks))
        print(f"raw sbatch --array + 1 s squeue loop: {raw[-1].wall:.1f} s ({raw[-1].phases})", flush=True)
        ratios.append(ours.wall / ((raw[-2].wall + raw[-1].wall) / 2))
        print(f"ratio {ratios[-1]:.2f}; stats: {json.dumps(ours.stats)}", flush=True)
        stats = {**ours.stats, "per_query": ours.stats["status_commands"] / max(1, ours.stats["status_queries"])}
        worst = {k: max(v, worst.get(k, v)) for k, v in stats.items()}
    print(f"sweep_submissions = {worst['submit_calls']} (goal <= 1)")
    print(f"sweep_status_commands_per_query = {worst['per_query']:.2f} (goal <= 1)")
    print(f"sweep_ssh_connections = {worst['connections']} (goal <= 1)")
    print(f"ratios: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"sweep_wall_ratio = {statistics.median(ratios):.2f} (goal <= 1.1)")


if __name__ == "__main__":
    main()
