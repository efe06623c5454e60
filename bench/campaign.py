#!/usr/bin/env python3
"""A 10,000-task campaign of a trivial command on the test cluster under a site's limits:
arrays of at most 1001 (the cluster's MaxArraySize) and at most 1500 jobs queued at once
(MaxSubmitJobs on the bench's own account, which mso is not told: it learns it from the first
refusal). Through mso (over sshd, as the test user), against the same tasks submitted by hand:
a shell loop that submits the next 1001-task array whenever the queue has room for it, then
waits for the queue to empty (run before and after mso's, averaged). Also: mso's submissions
(refusals included) and tasks that ran more than once (sacct).

    .venv/bin/python bench/campaign.py [--tasks 10000] [--limit 1500]
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import cluster, repository, timed_run

ACCOUNT = "mso-campaign-bench"
ARRAY = 1001
APP = """name: trivial
version: "1"
description: Does nothing, successfully.
command: ["true", "{i}"]
parameters: {type: object, properties: {i: {type: integer}}}
"""


def limited_account(env: dict[str, str], limit: int) -> None:
    """The bench's account, the test user in it, MaxSubmitJobs set (sacctmgr, idempotent)."""
    user, name = env["MSO_TEST_SSH_USER"], env["MSO_TEST_CLUSTER"]
    sacctmgr = ["sacctmgr", "-i"]
    subprocess.run([*sacctmgr, "add", "account", ACCOUNT, f"Cluster={name}",
                    "Description=mso campaign bench"], capture_output=True)
    subprocess.run([*sacctmgr, "add", "user", user, f"Account={ACCOUNT}", f"Cluster={name}"],
                   capture_output=True)
    subprocess.run([*sacctmgr, "modify", "user", "where", f"name={user}", f"account={ACCOUNT}",
                    f"cluster={name}", "set", f"MaxSubmitJobs={limit}"], capture_output=True)
    shown = subprocess.run(["sacctmgr", "-n", "-P", "show", "assoc", "where", f"user={user}",
                            f"account={ACCOUNT}", "format=maxsubmit"],
                           capture_output=True, text=True).stdout.split()
    if shown != [str(limit)]:
        raise SystemExit(f"could not set MaxSubmitJobs={limit} on {ACCOUNT}: {shown}")


def by_hand(env: dict[str, str], tasks: int, limit: int) -> float:
    """What a careful person scripts: the next array as soon as it fits under the limit."""
    unit = ARRAY if ARRAY <= limit else max(1, limit // 2)   # as mso does: an array must fit
    sizes = [min(unit, tasks - start) for start in range(0, tasks, unit)]
    loop = f"""
set -e
queued() {{ squeue -h -r -A {ACCOUNT} -u "$USER" -t pending,running,completing | wc -l; }}
for n in {' '.join(map(str, sizes))}; do
  while [ $(( {limit} - $(queued) )) -lt "$n" ]; do sleep 1; done
  sbatch --parsable -A {ACCOUNT} -p debug --array=0-$((n - 1)) -o /dev/null --wrap true >/dev/null
done
while [ "$(queued)" -gt 0 ]; do sleep 1; done
"""
    t0 = time.perf_counter()
    subprocess.run(["su", "-", env["MSO_TEST_SSH_USER"], "-c", f"bash -c {shlex.quote(loop)}"],
                   check=True)
    return time.perf_counter() - t0


def through_mso(env: dict[str, str], tasks: int) -> tuple[float, dict, str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        experiment = (f"name: bench\napplication: trivial\ninfrastructure: cluster\n"
                      f"matrix: {{i: {list(range(tasks))}}}\n")
        run_env = repository(root, env, APP, experiment, poll="{min: 1, max: 10}")
        infra = root / "infrastructures" / "cluster.yaml"
        infra.write_text(infra.read_text() + f"account: {ACCOUNT}\nlimits: {{max_array_size: {ARRAY}}}\n")
        wall, stats = timed_run(root, run_env)
        [record] = root.glob("results/bench/*/run.json")
        return wall, stats, json.loads(record.read_text())["run_id"]


def duplicates(run_id: str, tasks: int) -> tuple[int, int, int]:
    """(task indices sacct shows more than once, never, distinct arrays), once all reached it."""
    deadline = time.monotonic() + 120
    while True:
        out = subprocess.run(["sacct", "-X", "-P", "-n", "-a", "-A", ACCOUNT, "-S", "now-1days",
                              "-o", "JobID,JobName"], capture_output=True, text=True).stdout
        runs, arrays = Counter(), set()
        for line in out.splitlines():
            job, _, name = line.partition("|")
            if name.startswith(f"mso.{run_id}.") and "_" in job and "[" not in job:
                array, index = job.split("_")
                runs[int(name.partition("+")[2] or 0) + int(index)] += 1
                arrays.add(array)
        if len(runs) >= tasks or time.monotonic() > deadline:
            return sum(1 for n in runs.values() if n > 1), tasks - len(runs), len(arrays)
        time.sleep(2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=10000)
    ap.add_argument("--limit", type=int, default=1500)
    args = ap.parse_args()
    env = cluster()
    limited_account(env, args.limit)
    before = by_hand(env, args.tasks, args.limit)
    ours, stats, run_id = through_mso(env, args.tasks)
    after = by_hand(env, args.tasks, args.limit)
    twice, never, arrays = duplicates(run_id, args.tasks)
    base = (before + after) / 2
    print(f"by hand (arrays of {ARRAY} under MaxSubmitJobs={args.limit}): {before:.1f} s before, "
          f"{after:.1f} s after; mso: {ours:.1f} s")
    print(f"stats: {json.dumps(stats)}")
    print(f"campaign_arrays = {arrays} (whole arrays: {math.ceil(args.tasks / ARRAY)})")
    print(f"campaign_submit_calls = {stats['submit_calls']} (each one or more sbatch; a refused "
          "array ends its call)")
    print(f"campaign_never_ran = {never} (goal <= 0)")
    print(f"campaign_duplicates = {twice} (goal <= 0)")
    print(f"campaign_wall_ratio = {ours / base:.2f} (goal <= 1.15)")


if __name__ == "__main__":
    main()
