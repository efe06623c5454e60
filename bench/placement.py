#!/usr/bin/env python3
"""Placement's predictions against what happened: 20 sweeps with candidates [cluster, cloud]
(the test Slurm cluster over sshd, and servers made on the OpenStack stand-in of
tests/cloud/openstack_standin), under varied background load: another user's job holding every
CPU of the node, submitted a varied time before the sweep, or none. As on a real site, the job
asks for more time than it uses: a limit of two minutes (Slurm keeps limits in whole minutes),
done after one. Slurm's own estimate, from the limit, is then a minute too late, and only the
correction from history (how far earlier estimates were off) makes the prediction right; both
errors are printed.

Each sweep runs twice at once, as two experiments of one repository: one sent to the cluster,
one to the cloud (MSO_PLACEMENT, for which mso still predicts both candidates and records what
it would have chosen). The cluster run gives the actual queue wait (its first task's start
after its first submission) to set against the predicted one; the two runs' actual totals say
which choice was the faster in hindsight. History accumulates over the 20 runs, as it would in
a repository's results/, so later predictions are corrected by how far earlier ones were off.

The relative error of a wait is |predicted - actual| / max(actual, 10 s): a wait shorter than
10 s (an empty queue; two of slurmctld's scheduling passes) counts against 10 s, since a
relative error against a near-zero wait says nothing.

    .venv/bin/python bench/placement.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, cluster, mso, repository

sys.path.insert(0, str(ROOT))
from runner.placement.words import actual  # noqa: E402
from runner.state import load  # noqa: E402
from tests.cloud.openstack_standin import Cloud  # noqa: E402
from tests.cloud.openstack_standin.keys import new_keypair  # noqa: E402

FLOOR = 10.0
LOAD = 60            # seconds the other user's job holds the node
LIMIT = 120          # seconds it asks for
TASK = 5             # seconds each task sleeps
APP = """name: nap
version: "1"
description: Sleeps.
command: ["sleep", "{t}"]
parameters: {type: object, properties: {t: {type: number}}}
"""
CLOUD = """name: cloud
kind: openstack
user: {user}
key: {{env: BENCH_CLOUD_KEY}}
work_root: mso-bench
poll_interval: {{min: 0.5, max: 2}}
limits: {{max_parallel: 3}}
openstack: {{cloud: standin, image: debian-12, flavor: m1.medium, network: private,
            key_pair: mso, count: 1}}
"""


def experiment(name: str, run: int) -> str:
    points = [round(TASK + run / 100 + k / 1000, 3) for k in range(3)]   # new points every run
    return (f"name: {name}\napplication: nap\ninfrastructure: [cluster, cloud]\n"
            f"matrix: {{t: {points}}}\n"
            f"resources: {{tasks: 1, cpus_per_task: 1, walltime: \"00:01:00\"}}\n")


def load_job(env: dict[str, str]) -> str:
    node = subprocess.run(["scontrol", "-o", "show", "node", env["MSO_TEST_NODE"]],
                          capture_output=True, text=True, check=True).stdout
    cpus = next(w.split("=")[1] for w in node.split() if w.startswith("CPUTot="))
    return subprocess.run(
        ["runuser", "-u", env["MSO_TEST_OTHER_USER"], "--", "sbatch", "--parsable", "--chdir=/",
         "--output=/dev/null", f"--cpus-per-task={cpus}", f"--time={LIMIT // 60}:00",
         f"--wrap=sleep {LOAD}"], capture_output=True, text=True, check=True).stdout.strip()


def queue_empty(env: dict[str, str]) -> None:
    subprocess.run(["scancel", "-u", env["MSO_TEST_OTHER_USER"]], check=True)
    while subprocess.run(["squeue", "-h", "-u", env["MSO_TEST_OTHER_USER"]],
                         capture_output=True, text=True).stdout.strip():
        time.sleep(0.5)


def one(root: Path, run_env: dict[str, str], run: int) -> dict:
    """Both runs of sweep `run`; what they predicted and what happened."""
    for name in ("oncluster", "oncloud"):
        (root / "experiments" / f"{name}.yaml").write_text(experiment(name, run))
    procs = {where: mso(root, {**run_env, "MSO_PLACEMENT": where}, "run", f"on{where}")
             for where in ("cluster", "cloud")}
    records = {}
    for where, proc in procs.items():
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"mso run (on {where}) failed ({proc.returncode}):\n{err[-3000:]}")
        newest = max((root / "results" / f"on{where}").iterdir())
        records[where] = load(newest / "run.json")
    decision = records["cluster"].placement[0]
    predicted = decision["predictions"]
    auto = min(predicted, key=lambda n: (predicted[n]["total"], decision["candidates"].index(n)))
    happened = {w: actual(r.placement[0], r) for w, r in records.items()}
    return {"predicted_wait": predicted["cluster"]["wait"],
            "estimate": predicted["cluster"].get("estimate"),
            "wait": happened["cluster"]["wait"], "auto": auto,
            "faster": min(happened, key=lambda w: happened[w]["total"]),
            "totals": {w: happened[w]["total"] for w in happened}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    env = cluster()
    # before each sweep: no load, or the load job submitted this many seconds earlier
    ahead = [None if k % 5 == 0 else 5 + (k * 11) % 50 for k in range(args.runs)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Cloud(env["MSO_TEST_SSH_USER"]) as standin:
        root = Path(tmp)
        run_env = repository(root, env, APP, experiment("oncluster", 0),
                             poll="{min: 0.5, max: 2}")
        (root / "experiments" / "bench.yaml").unlink()   # the two below instead
        keys = new_keypair()
        standin.add_keypair("mso", keys.public)
        (root / "cloud-key").write_text(keys.private)
        (root / "cloud-key").chmod(0o600)
        (root / "infrastructures" / "cloud.yaml").write_text(CLOUD.format(user=standin.login_user))
        run_env.update(BENCH_CLOUD_KEY=str(root / "cloud-key"),
                       OS_CLIENT_CONFIG_FILE=str(standin.write_clouds_yaml(root / "clouds.yaml")))
        for k, before in enumerate(ahead):
            queue_empty(env)
            if before is not None:
                load_job(env)
                time.sleep(before)
            row = one(root, run_env, k)
            rows.append(row)
            error = abs(row["predicted_wait"] - row["wait"]) / max(row["wait"], FLOOR)
            print(f"run {k + 1:2d}: load {'none' if before is None else f'{before:2d} s old'}: "
                  f"wait predicted {row['predicted_wait']:6.1f} s (estimate "
                  f"{row['estimate'] if row['estimate'] is not None else float('nan'):6.1f}), "
                  f"actual {row['wait']:6.1f} s, error {error:.2f}; auto {row['auto']}, "
                  f"faster {row['faster']} {json.dumps(row['totals'])}", flush=True)
        queue_empty(env)
    errors = [abs(r["predicted_wait"] - r["wait"]) / max(r["wait"], FLOOR) for r in rows]
    alone = [abs(r["estimate"] - r["wait"]) / max(r["wait"], FLOOR) for r in rows
             if r["estimate"] is not None]
    right = sum(r["auto"] == r["faster"] for r in rows) / len(rows)
    print(f"scheduler_estimate_alone_error = {statistics.median(alone):.2f} (median, "
          f"{len(alone)} runs)")
    print(f"choice_was_faster_share = {right:.2f} (of {len(rows)} runs)")
    print(f"wait_prediction_error = {statistics.median(errors):.2f} (goal <= 0.25)")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
