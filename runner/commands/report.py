"""`mso report [EXPERIMENT...]`: tell GitLab about each experiment's latest run (merge-request
note and commit statuses) and, when asked, write a JUnit report of those runs."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from runner.errors import MsoError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def add(sub) -> None:
    p = sub.add_parser("report", help="report the latest runs to GitLab (note, commit statuses) "
                                      "and as JUnit")
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                   help="experiments to report (default: every experiment with runs)")
    p.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit report")
    p.add_argument("--remark", action="append", default=[], metavar="TEXT",
                   help="a line for the note's remarks (repeatable)")
    p.add_argument("--token-env", metavar="VAR",
                   help="environment variable holding the GitLab API token "
                        "(default: MSO_GITLAB_TOKEN)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner.secrets import Secrets
    from runner.publish import notify, report

    if args.token_env is not None and not ENV_NAME.match(args.token_env):
        raise MsoError(f"--token-env {args.token_env!r}: not an environment variable name "
                       "(letters, digits and _, e.g. MSO_GITLAB_TOKEN)")
    root = Path(args.repo).resolve()
    records = latest(root / "results", args.experiments)
    notifier = notify.Notifier.from_env(root, _say, args.token_env)
    outcome = notifier.update(records, args.remark)
    if args.junit:
        report.write_junit(args.junit, root / "results", records, Secrets().adding(args.token_env))
    if args.json:
        print(json.dumps({"ok": True, "runs": [{"experiment": r.experiment, "run_id": r.run_id,
                                                "state": r.state} for r in records],
                          "gitlab": {"skipped": notifier.skipped, "note": outcome.note,
                                     "statuses": outcome.statuses,
                                     "warnings": notifier.warnings},
                          "junit": str(args.junit) if args.junit else None}, indent=2))
    else:
        _summary(records, outcome, notifier, args.junit)
    return 0


def latest(results: Path, wanted: list[str]) -> list:
    """Each experiment's latest run record (those named, else every one with runs)."""
    from runner import state
    from runner.declarations.messages import did_you_mean

    found = {}
    for _, record in state.records(results):
        found[record.experiment] = record   # oldest first: the last one stays
    for name in wanted:
        if name not in found:
            hint = did_you_mean(name, sorted(found), "experiments with runs")
            raise MsoError(f"no runs of '{name}' in results/" + (f" ({hint})" if hint else
                           f"; `mso run {name}` starts one"))
    names = list(dict.fromkeys(wanted)) or sorted(found)
    return [found[n] for n in names]


def _say(line: str) -> None:
    print(f"mso: {line}", file=sys.stderr)


def _summary(records: list, outcome, notifier, junit_path: Path | None) -> None:
    if not records:
        print("no runs yet (results/ is empty); `mso run` starts them")
    for r in records:
        print(f"{r.experiment:<24} {r.run_id:<26} {r.state}")
    if notifier.client is not None or notifier.warnings:
        sent = ", ".join(f"{k}={v}" for k, v in outcome.statuses.items()) or "none changed"
        print(f"gitlab: note {outcome.note}; statuses: {sent}")
    if junit_path:
        print(f"junit: {junit_path}")
