"""`mso status [EXPERIMENT...]`: the latest runs of every experiment, read from results/ alone."""

from __future__ import annotations

import argparse
import json
import shlex
from collections import Counter
from pathlib import Path

from runner.errors import MsoError
from runner.words import plural


def add(sub) -> None:
    p = sub.add_parser("status", help="show the latest runs of each experiment (from results/)")
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT")
    p.add_argument("--last", type=int, default=3, metavar="N", help="runs per experiment (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner import state
    from runner.declarations import repository

    root = Path(args.repo)
    repository.require_root(root)
    if args.last < 1:
        raise MsoError(f"--last {args.last}: give 1 or more runs per experiment")
    records = [record for _, record in state.records(root / "results")]
    _known(args.experiments, root, records)
    rows = [summarize(r) for r in records
            if not args.experiments or r.experiment in args.experiments]
    latest = _latest(rows, args.last)
    if args.json:
        print(json.dumps({"ok": True, "runs": latest}, indent=2))
    else:
        _table(latest, args.experiments)
    return 0


def _known(wanted: list[str], root: Path, records: list) -> None:
    """Raise MsoError, with a did-you-mean, for a name neither declared nor ever run."""
    from runner.declarations import repository
    from runner.declarations.schema import did_you_mean

    declared = {p.stem for kind, p in repository.declaration_files(root) if kind == "experiment"}
    known = sorted(declared | {r.experiment for r in records})
    lines = []
    for name in dict.fromkeys(wanted):
        if name not in known:
            hint = did_you_mean(name, known, "declared experiments") or "experiments/ declares none"
            lines.append(f"unknown experiment '{name}' ({hint})")
    if lines:
        raise MsoError("\n".join(lines))


def summarize(record) -> dict:
    """One line of facts about a run."""
    counts = Counter(t.state for t in record.tasks)
    starts = [t.started for t in record.tasks if t.started]
    return {"experiment": record.experiment, "run_id": record.run_id, "state": record.state,
            "tasks": len(record.tasks), "succeeded": counts["succeeded"],
            "failed": counts["failed"], "cancelled": counts["cancelled"],
            "running": counts["running"] + counts["queued"], "started": min(starts, default=None),
            "updated": record.updated, "reason": record.reason,
            "infrastructure": record.infrastructure.get("name"),
            # pending tasks that something holds back (a site's limit on queued jobs), by why
            "waiting": dict(Counter(t.reason for t in record.tasks
                                    if t.state == "pending" and t.reason))}


def _latest(rows: list[dict], n: int) -> list[dict]:
    by_exp: dict[str, list[dict]] = {}
    for row in rows:
        by_exp.setdefault(row["experiment"], []).append(row)
    return [r for exp in sorted(by_exp) for r in sorted(by_exp[exp], key=lambda r: r["run_id"],
                                                         reverse=True)[:n]]


def _table(rows: list[dict], named: list[str]) -> None:
    if not rows:
        what = f"of {' '.join(named)} " if named else "(results/ is empty)"
        start = f"`mso run {' '.join(map(shlex.quote, named))}`" if named else "`mso run`"
        print(f"no runs yet {what.rstrip()}; {start} starts them")
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
        for why, n in r["waiting"].items():
            print(f"  {r['experiment']} {r['run_id']}: {plural(n, 'task')} pending, {why}")
