#!/usr/bin/env python3
"""A 200-task sweep on the test cluster whose tasks each log 1,000 lines (over ~5 s, classified
by the OPM filter list), run through mso with live tailing and without it (MSO_LIVE_LOGS=0),
alternating, and the wall times compared. Prints the remote commands per watcher tick; the last
line is `live_overhead_ratio = X (goal <= 1.1)`.

    .venv/bin/python bench/live.py [--tasks 200] [--lines 1000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from common import cluster, repository, timed_run

SCRIPT = """import sys, time
n = int(sys.argv[1])
with open("app.log", "w") as fh:
    for i in range(n):
        fh.write(("Report step %d\\n" if i % 50 == 0 else "Time step %d, stepsize 1 day\\n") % i)
        if i % 100 == 99:
            fh.flush()
            time.sleep(0.5)
    fh.write("================    End of simulation     ===============\\n")
"""
APP = r"""name: chatty
version: "1"
description: Writes a log of N lines over a few seconds.
command: [python3, chatty.py, "{lines}", "{i}"]
parameters: {type: object, properties: {i: {type: integer}, lines: {type: integer}}}
expected_steps: 20
logs:
  - path: app.log
    filters:
      - {pattern: "^================    End of simulation     ===============", severity: OK, progress: 100}
      - {pattern: "^Time step", severity: INFO}
      - {pattern: "^Report step", severity: WARNING, progress: "+1"}
      - {pattern: "^[\\s]*[:|=]", verbosity: 2}
      - {pattern: "^Keyword", verbosity: 2}
      - {pattern: "[\\s\\S]*", verbosity: 1}
"""
EXPERIMENT = ("name: bench\napplication: chatty\ninfrastructure: cluster\n"
              "parameters: {{lines: {lines}}}\nmatrix: {{i: {points}}}\n")


def one(env: dict[str, str], tasks: int, lines: int, live: bool) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_env = repository(root, env, APP, EXPERIMENT.format(lines=lines,
                                                               points=list(range(tasks))),
                             poll="{min: 1, max: 10}")
        (root / "applications" / "chatty").mkdir()
        (root / "applications" / "chatty" / "chatty.py").write_text(SCRIPT)
        run_env["MSO_LIVE_LOGS"] = "1" if live else "0"
        wall, stats = timed_run(root, run_env)
        jsonl = sorted(root.glob("results/bench/*/*/app.log.jsonl"))
        got = sum(len(p.read_text().splitlines()) for p in jsonl)
        if got != tasks * (lines + 1):
            raise SystemExit(f"{got} classified lines recorded, {tasks * (lines + 1)} written")
        return wall, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=1, help="pairs of runs (off, on), averaged")
    args = ap.parse_args()
    env = cluster()
    off, on = [], []
    for _ in range(args.rounds):   # alternated: a drift of the cluster weighs on both alike
        off.append(one(env, args.tasks, args.lines, live=False)[0])
        wall, stats = one(env, args.tasks, args.lines, live=True)
        on.append(wall)
        print(f"without live tailing {off[-1]:.1f} s, with it {wall:.1f} s")
        print(f"stats: {json.dumps(stats)}")
        print(f"live_read_commands_per_tick = {stats['log_commands'] / max(1, stats['ticks']):.2f}"
              f" (goal <= 1 per infrastructure; {stats['log_reads']} reads in "
              f"{stats['ticks']} ticks)")
        print(f"remote_commands_per_tick = {stats['commands'] / max(1, stats['ticks']):.2f} (all "
              "commands: exit-file checks, status queries, submit, collection included)")
    print(f"live_overhead_ratio = {sum(on) / sum(off):.2f} (goal <= 1.1)")


if __name__ == "__main__":
    main()
