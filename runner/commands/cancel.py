"""`mso cancel EXPERIMENT|RUN-ID...`: stop unfinished runs' jobs and record who and when."""

from __future__ import annotations

import argparse
import getpass
import json
import os
from pathlib import Path

from runner.errors import MsoError
from runner.words import plural


def add(sub) -> None:
    p = sub.add_parser("cancel", help="cancel the unfinished runs of experiments (or runs by id)")
    p.add_argument("targets", nargs="+", metavar="EXPERIMENT|RUN-ID")
    p.set_defaults(func=run)


def who() -> str:
    """The person cancelling: the GitLab user in CI, else the login name."""
    return os.environ.get("GITLAB_USER_LOGIN") or getpass.getuser()


def run(args: argparse.Namespace) -> int:
    from runner import state
    from runner.declarations.repository import load_valid
    from runner.runs import lifecycle, resume
    from runner.schedulers.context import Context
    from runner.secrets import Secrets

    repo = load_valid(Path(args.repo).resolve())
    found = [(p, r) for p, r in state.records(Path(repo.root) / "results")
             if not r.state.terminal and (r.experiment in args.targets or r.run_id in args.targets)]
    if not found:
        raise MsoError(f"no unfinished run of {', '.join(args.targets)} (see `mso status`)")
    done, person = [], who()
    with Context(Secrets.of(repo)) as ctx:
        for folder, record in found:
            active = resume.load(ctx, repo, folder, record)
            count = lifecycle.cancel(active, person, f"cancelled by {person} at {state.now()}")
            done.append({"experiment": record.experiment, "run_id": record.run_id, "tasks": count})
    if args.json:
        print(json.dumps({"ok": True, "cancelled": done}, indent=2))
    else:
        for d in done:
            print(f"{d['experiment']} {d['run_id']}: cancelled "
                  f"{plural(d['tasks'], 'unfinished task')}")
    return 0
