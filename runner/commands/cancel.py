"""`mso cancel EXPERIMENT|RUN-ID...`: stop unfinished runs' jobs and record who and when."""

from __future__ import annotations

import argparse
import getpass
import json
import os
from pathlib import Path

from runner.errors import MsoError


def add(sub) -> None:
    p = sub.add_parser("cancel", help="cancel the unfinished runs of experiments (or runs by id)")
    p.add_argument("targets", nargs="+", metavar="EXPERIMENT|RUN-ID")
    p.set_defaults(func=run)


def who() -> str:
    """The person cancelling: the GitLab user in CI, else the login name."""
    return os.environ.get("GITLAB_USER_LOGIN") or getpass.getuser()


def run(args: argparse.Namespace) -> int:
    from runner import runs, state
    from runner.spec.repository import load_valid
    from runner.state import State

    repo = load_valid(Path(args.repo).resolve())
    found = [(p, r) for p, r in state.records(Path(repo.root) / "results")
             if not State(r.state).terminal and (r.experiment in args.targets or r.run_id in args.targets)]
    if not found:
        raise MsoError(f"no unfinished run of {', '.join(args.targets)} (see `mso status`)")
    done, person = [], who()
    for folder, record in found:
        active = runs.load(repo, folder, record)
        live = [t for t in record.tasks if not State(t.state).terminal]
        why = f"cancelled by {person} at {state.now()}"
        live_ids = {t.id: t.job_id for t in live}
        for t in live:                       # recorded first: a runner watching these jobs
            t.move(State.CANCELLED, why)      # must read "cancelled" before it sees them die
        record.cancelled_by, record.reason = person, why
        active.save()
        runs.stop(active, live_ids)
        runs.remove_work_dirs(active, discard=True)
        done.append({"experiment": record.experiment, "run_id": record.run_id, "tasks": len(live)})
    if args.json:
        print(json.dumps({"ok": True, "cancelled": done}, indent=2))
    else:
        for d in done:
            print(f"{d['experiment']} {d['run_id']}: cancelled {d['tasks']} unfinished task(s)")
    return 0
