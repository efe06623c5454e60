#!/usr/bin/env python3
"""How long mso classifies 1,000,000 lines of an OPM Flow-like log with OPM's filter list
(MSO4SC's opm-flow-logger blueprint, verbatim), against `grep -cE` counting the lines the same
patterns match, without the catch-all, over the same file, measured in the same run.

Both read the file. Figures are CPU seconds (this process's; grep's from its rusage): the
machine is shared, and wall time measures the neighbours. Wall times are printed beside them.
grep runs in the inherited locale (C.UTF-8 here), with the patterns' meaning kept (`\\s` is
`[[:space:]]`: inside brackets GNU grep reads `\\s` as two characters); its time in the C
locale, where it skips UTF-8, is printed too. The classifier's counts are checked against grep's.

    .venv/bin/python bench/logs.py [--lines 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from operator import itemgetter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.declarations.logfilters import specs  # noqa: E402
from runner.logs.classify import classify  # noqa: E402
from tests.logs.opm import FILTERS_YAML, lines  # noqa: E402

CATCH_ALL = r"[\s\S]*"


def classified(path: Path, filters: tuple) -> tuple[Counter, float, float]:
    """Entries per verbosity (the catch-all's is 1: the others are what grep counts), CPU and
    wall seconds."""
    cpu, wall = time.process_time(), time.perf_counter()
    text = path.read_text("utf-8", errors="replace")
    counts = Counter(map(itemgetter(2), classify(text.splitlines(), filters)))
    return counts, time.process_time() - cpu, time.perf_counter() - wall


def ere(pattern: str) -> str:
    """A Python pattern of the OPM list as a POSIX extended one with the same meaning."""
    out = re.sub(r"\[([^\]]*)\]", lambda m: "[" + m[1].replace(r"\s", "[:space:]") + "]", pattern)
    out = out.replace(r"\s", "[[:space:]]")
    if "\\" in out:
        raise SystemExit(f"cannot translate {pattern!r} for grep")
    return out


def grepped(path: Path, patterns: list[str], env: dict[str, str]) -> tuple[int, float, float]:
    """grep's count, CPU and wall seconds."""
    cmd = ["grep", "-cE", *[a for p in patterns for a in ("-e", ere(p))], str(path)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode not in (0, 1):
        raise SystemExit(f"grep failed: {out.stderr}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return int(out.stdout), cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    filters = specs(None, yaml.safe_load(FILTERS_YAML))[0].filters
    patterns = [f.pattern for f in filters if f.pattern != CATCH_ALL]
    c_locale = {**os.environ, "LC_ALL": "C"}
    runs: dict[str, list[float]] = {k: [] for k in ("mso", "mso_wall", "grep", "grep_wall", "grep_c")}
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "flow.log"
        log.write_text("".join(f"{line}\n" for line in lines(args.lines)), encoding="utf-8")
        for _ in range(args.repeat):
            counts, cpu, wall = classified(log, filters)
            runs["mso"].append(cpu)
            runs["mso_wall"].append(wall)
            found, cpu, wall = grepped(log, patterns, dict(os.environ))
            runs["grep"].append(cpu)
            runs["grep_wall"].append(wall)
            runs["grep_c"].append(grepped(log, patterns, c_locale)[1])
    by_filter = sum(n for verbosity, n in counts.items() if verbosity != 1)
    if by_filter != found:
        raise SystemExit(f"the classifier matched {by_filter} lines before the catch-all, "
                         f"grep {found}")
    med = {k: statistics.median(v) for k, v in runs.items()}
    severities = Counter(e.severity for e in classify(lines(args.lines), filters))  # not timed
    print(f"lines: {args.lines}; per severity: {dict(sorted(severities.items()))}; lines matched "
          f"before the catch-all: {by_filter} (grep: {found}); median of {args.repeat}")
    print(f"locale: {os.environ.get('LC_ALL') or os.environ.get('LANG') or 'unset'}")
    print(f"classify_wall_seconds: {med['mso_wall']:.2f}; grep: {med['grep']:.2f} s CPU, "
          f"{med['grep_wall']:.2f} s wall; grep with LC_ALL=C: {med['grep_c']:.2f} s CPU")
    print(f"classify_seconds = {med['mso']:.2f} (goal <= 2)")
    print(f"classify_ratio = {med['mso'] / med['grep']:.2f} (goal <= 4)")


if __name__ == "__main__":
    main()
