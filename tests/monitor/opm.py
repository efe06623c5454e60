"""A synthetic OPM-like application for the live-log tests: it writes an OPM Flow-like log over a
few seconds, with the OPM filter list of the MSO4SC blueprints; it can rotate or truncate its log
half-way. Every line it writes also goes to `all.log` (not declared), which `grep` counts."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from pathlib import Path

from runner.declarations.repository import load_valid
from runner.monitor.watcher import Watcher
from runner.plan import resolve
from runner.runs import create, lifecycle
from runner.schedulers.context import Context

# The OPM filter list of the MSO4SC blueprints, as MSO4SC's filter file holds it (one entry per
# log file), kept in the application's folder and named by `logs: {filters: ...}`
OPM_FILTERS = r"""- filename: opm.log
  filters:
    - pattern: "^================    End of simulation     ==============="
      severity: OK
      progress: 100
    - pattern: "^Time step"
      severity: INFO
    - pattern: "^Report step"
      severity: WARNING
      progress: "+1"
    - pattern: "^[\\s]*[:|=]"
      verbosity: 2
    - pattern: "^Keyword"
      verbosity: 2
    - pattern: "[\\s\\S]*"
      verbosity: 1
"""
# the severities grep counts (the patterns are exclusive; every other line is INFO: the
# filters without a severity, and the catch-all)
GREP = (("OK", "^================    End of simulation     ==============="),
        ("WARNING", "^Report step"))

APP = """\
name: opm
version: "1"
description: Writes an OPM Flow-like log over a few seconds.
command: [python3, opm.py, "{steps}", "{seconds}", "{mode}", "{gate}"]
parameters:
  type: object
  properties:
    steps: {type: integer, default: 8}
    seconds: {type: number, default: 8}
    mode: {type: string, default: plain}
    gate: {type: string, default: ""}
expected_steps: 8
logs: {filters: applications/opm/logfilter.yaml}
"""

SCRIPT = r'''import os, sys, time
steps, seconds, mode, gate = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
log, everything = open("opm.log", "a"), open("all.log", "a")

def say(text):
    for fh in (log, everything):
        fh.write(text + "\n")
        fh.flush()

say("Flow is a simulator for fully implicit three-phase black-oil flow")
say("Keyword RUNSPEC")
say("  : table | row 1")
say("=== Initial state ===")
for n in range(1, steps + 1):
    if n == steps // 2 + 1 and mode == "rotate":
        say("Report step rotating soon")
        log.write("Time step written just before the rename, no newline yet")
        log.flush()
        everything.write("Time step written just before the rename, no newline yet\n")
        log.close()
        os.rename("opm.log", "opm.log.1")
        log = open("opm.log", "a")
    if n == steps // 2 + 1 and mode == "truncate":
        say("Keyword before the truncation")
        while not os.path.exists(gate):      # the test opens it once mso has read that line
            time.sleep(0.05)
        log.truncate(0)
    say(f"Report step {n}/{steps} at day {n * 30}")
    for k in range(3):
        say(f"Time step {k}, stepsize {0.5 * (k + 1)} days")
        say(f"  : well BHP | {100 + k}")
        say(f"Iteration {k} converged")
    time.sleep(seconds / steps)
say("================    End of simulation     ===============")
'''


def add_opm(repo: Path) -> Path:
    """Add the `opm` application to a repository."""
    (repo / "applications" / "opm").mkdir(exist_ok=True)
    (repo / "applications" / "opm.yaml").write_text(APP)
    (repo / "applications" / "opm" / "opm.py").write_text(SCRIPT)
    (repo / "applications" / "opm" / "logfilter.yaml").write_text(OPM_FILTERS)
    return repo


def experiment(repo: Path, name: str, infrastructure: str, **params) -> None:
    values = ", ".join(f"{k}: {v!r}" for k, v in params.items())
    (repo / "experiments" / f"{name}.yaml").write_text(
        f"name: {name}\napplication: opm@1\ninfrastructure: {infrastructure}\n"
        f"parameters: {{{values}}}\n")


def grep_counts(text: str) -> Counter:
    """Counts per severity as `grep -c` gives them over the lines."""
    def grep(*args: str) -> int:
        done = subprocess.run(["grep", "-c", *args], input=text.rstrip("\n") + "\n",
                              capture_output=True, text=True)
        return int(done.stdout.strip() or 0)
    counts = Counter({sev: grep("-E", pattern) for sev, pattern in GREP})
    counts["INFO"] = grep("") - sum(counts.values())
    return +counts


class Heard:
    """What `ActiveRun.hear` got, with the time of each call; opens the gate on a line."""

    def __init__(self, gate: Path | None = None, on: str = "Keyword before the truncation"):
        self.calls: list[tuple[float, str, list]] = []
        self.gate, self.on = gate, on

    def __call__(self, run, task, log: str, entries: list) -> None:
        self.calls.append((time.monotonic(), log, list(entries)))
        if self.gate is not None and any(e.text == self.on for e in entries):
            self.gate.touch()

    def entries(self) -> list:
        return [e for _, _, got in self.calls for e in got]


def run_in_process(repo: Path, name: str, heard: Heard) -> tuple:
    """Run an experiment in this process, `heard` listening; (run, watcher, end times by task)."""
    loaded = load_valid(repo)
    ended: dict[str, float] = {}

    def listen(r, t, text: str) -> None:
        if t.state.terminal:
            ended.setdefault(t.id, time.monotonic())

    with Context() as ctx:
        run = create.create(ctx, loaded, resolve.plan(loaded, loaded.experiments[name]), {})
        run.hear, run.listen, run.keep_workdir = heard, listen, True   # the test reads it
        watcher = Watcher([run])
        watcher.run()
        lifecycle.close(run)
    return run, watcher, ended
