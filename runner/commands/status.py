"""`mso status [EXPERIMENT...]`: the latest runs of every experiment, read from results/ alone."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def add(sub) -> None:
    p = sub.add_parser("status", help="show the latest runs of each experiment (from results/)")
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT")
    p.add_argument("--last", type=int, default=3, metavar="N", help="runs per experiment (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner import state
    results = Path(args.repo) / "results"
    rows = []
    for _, record in state.records(results):
        if args.experiments and record.experiment not in args.experiments:
            continue
        rows.append(summarize(record))
    latest = _latest(rows, args.last)
    if args.json:
        print(json.dumps({"ok": True, "runs": latest}, indent=2))
    else:
        _table(latest)
    return 0


def summarize(record) -> dict:
    """One line of facts about a run."""
    counts = Counter(t.state for t in record.tasks)
    starts = [t.started for t in record.tasks if t.started]
    return {"experiment": record.experiment, "run_id": record.run_id, "state": record.state,
            "tasks": len(record.tasks), "succeeded": counts["succeeded"],
            "failed": counts["failed"], "cancelled": counts["cancelled"],
            "running": counts["running"] + counts["queued"], "started": min(starts, default=None),
            "updated": record.updated, "reason": record.reason,
            "infrastructure": record.infrastructure.get("name")}


def _latest(rows: list[dict], n: int) -> list[dict]:
    by_exp: dict[str, list[dict]] = {}
    for row in rows:
        by_exp.setdefault(row["experiment"], []).append(row)
    return [r for exp in sorted(by_exp) for r in sorted(by_exp[exp], key=lambda r: r["run_id"],
                                                         reverse=True)[:n]]


def _table(rows: list[dict]) -> None:
    if not rows:
        print("no runs yet (results/ is empty); `mso run` starts them")
        return
    head = ("EXPERIMENT", "RUN", "STATE", "OK/FAILED/ALL", "WHERE", "UPDATED")
    lines = [head] + [(r["experiment"], r["run_id"], r["state"],
                       f"{r['succeeded']}/{r['failed']}/{r['tasks']}", r["infrastructure"] or "",
                       r["updated"]) for r in rows]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip())
    for r in rows:
        if r["reason"]:
            print(f"  {r['experiment']} {r['run_id']}: {r['reason']}")
