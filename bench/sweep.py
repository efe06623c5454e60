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
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import cluster, repository, timed_run

APP = """name: trivial
version: "1"
description: Does nothing, successfully.
command: ["true", "{i}"]
parameters: {type: object, properties: {i: {type: integer}}}
"""
EXPERIMENT = "name: bench\napplication: trivial\ninfrastructure: cluster\nmatrix: {{i: {points}}}\n"


def through_mso(env: dict[str, str], tasks: int) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_env = repository(root, env, APP, EXPERIMENT.format(points=list(range(tasks))),
                             poll="{min: 1, max: 10}")
        return timed_run(root, run_env)


def raw_sbatch(env: dict[str, str], tasks: int) -> float:
    """What a person would do by hand: one array, then squeue once a second until it is gone."""
    user = env["MSO_TEST_SSH_USER"]
    t0 = time.perf_counter()
    job = subprocess.run(["su", "-", user, "-c",
                          f"sbatch --parsable -p debug --array=0-{tasks - 1} -o /dev/null --wrap true"],
                         capture_output=True, text=True, check=True).stdout.strip()
    while subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True).stdout.strip():
        time.sleep(1)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=3)
    args = ap.parse_args()
    env = cluster()
    raw = [raw_sbatch(env, args.tasks)]
    ratios, worst = [], {}
    for _ in range(args.pairs):
        ours, stats = through_mso(env, args.tasks)
        raw.append(raw_sbatch(env, args.tasks))
        ratios.append(ours / ((raw[-2] + raw[-1]) / 2))
        print(f"raw sbatch --array + 1 s squeue loop: {raw[-2]:.1f} s before, {raw[-1]:.1f} s after; "
              f"mso: {ours:.1f} s; ratio {ratios[-1]:.2f}", flush=True)
        print(f"stats: {json.dumps(stats)}", flush=True)
        stats["per_query"] = stats["status_commands"] / max(1, stats["status_queries"])
        worst = {k: max(v, worst.get(k, v)) for k, v in stats.items()}
    print(f"sweep_submissions = {worst['submit_calls']} (goal <= 1)")
    print(f"sweep_status_commands_per_query = {worst['per_query']:.2f} (goal <= 1)")
    print(f"sweep_ssh_connections = {worst['connections']} (goal <= 1)")
    print(f"ratios: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"sweep_wall_ratio = {statistics.median(ratios):.2f} (goal <= 1.1)")


if __name__ == "__main__":
    main()
