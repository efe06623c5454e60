#!/usr/bin/env python3
"""Delay between a 10 s job's end (its wrapper's exit-code file) and mso marking it done,
on the test cluster through sshd; beside it, a plain 1 s `squeue` loop's delay in the same run.

With --hostile-log the job also writes, every 0.2 s, a line on which its log filter
`(a+)+$` backtracks catastrophically (30 a's and a b), which the watcher tails live: the
delay must stay within the same goal (the pattern runs out of time, once, with a warning).

    .venv/bin/python bench/detect.py [--seconds 10] [--repeat 3] [--hostile-log]
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

from common import cluster, mso, repository

APP = """name: sleeper
version: "1"
description: Sleeps, then says so.
command: [sleep, "{seconds}"]
parameters: {type: object, properties: {seconds: {type: number, minimum: 0}}}
"""
HOSTILE_APP = """name: sleeper
version: "1"
description: Sleeps while writing lines that make a naive regex engine backtrack for ever.
command: [bash, -c, 'printf -v n %.0f "$0"; end=$((SECONDS + n)); while [ $SECONDS -lt $end ]; do printf "%30s\\n" b | tr " " a >> run.log; sleep 0.2; done', "{seconds}"]
parameters: {type: object, properties: {seconds: {type: number, minimum: 0}}}
logs:
  - filename: run.log
    filters:
      - {pattern: "(a+)+$", severity: WARNING}
"""
EXPERIMENT = "name: bench\napplication: sleeper\ninfrastructure: cluster\n" \
             "parameters: {{seconds: {seconds}}}\nkeep_workdir: true\n"


def mso_delay(env: dict[str, str], seconds: float, app: str = APP) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_env = repository(root, env, app, EXPERIMENT.format(seconds=seconds))
        proc = mso(root, run_env, "run", "bench")
        marked = None
        while proc.poll() is None or marked is None:
            for rec_path in root.glob("results/bench/*/run.json"):
                try:
                    rec = json.loads(rec_path.read_text())
                except ValueError:
                    continue
                if marked is None and rec["tasks"][0]["state"] == "succeeded":
                    marked, work = time.time(), rec["work_dir"]
            if proc.poll() is not None and marked is None:
                raise SystemExit(f"mso run failed:\n{proc.stderr.read()}")
            time.sleep(0.02)
        exit_file = Path(work) / "main-0000/.mso/exit_code"
        delay = marked - exit_file.stat().st_mtime
        subprocess.run(["rm", "-rf", str(Path(work))])
        return delay


def squeue_delay(env: dict[str, str], seconds: float) -> float:
    """Raw sbatch, then `squeue -h -j ID` once a second until the job is gone."""
    user = env["MSO_TEST_SSH_USER"]
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        marker = Path(tmp) / "ended"
        wrap = f"sleep {seconds}; touch {marker}"
        out = subprocess.run(["su", "-", user, "-c", f"sbatch --parsable -p debug --wrap '{wrap}'"],
                             capture_output=True, text=True, check=True).stdout.strip()
        while True:
            q = subprocess.run(["squeue", "-h", "-j", out], capture_output=True, text=True)
            if q.returncode == 0 and not q.stdout.strip():
                return time.time() - marker.stat().st_mtime
            time.sleep(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--hostile-log", action="store_true",
                    help="the job writes lines its log filter backtracks on for ever")
    args = ap.parse_args()
    env = cluster()
    app = HOSTILE_APP if args.hostile_log else APP
    ours = [mso_delay(env, args.seconds, app) for _ in range(args.repeat)]
    base = [squeue_delay(env, args.seconds) for _ in range(args.repeat)]
    print(f"mso delays: {', '.join(f'{d:.2f}' for d in ours)} s")
    print(f"plain 1 s squeue loop (baseline): {statistics.median(base):.2f} s")
    print(f"detect_ratio_vs_squeue_loop = {statistics.median(ours) / statistics.median(base):.2f}")
    print(f"detect_delay_s = {statistics.median(ours):.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
