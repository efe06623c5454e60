"""`mso cancel EXPERIMENT|RUN-ID...`: stop unfinished runs' jobs and record who and when."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

from runner.errors import MsoError
from runner.words import plural


def add(sub) -> None:
    p = sub.add_parser("cancel", help="cancel the unfinished runs of experiments (or runs by id)")
    p.add_argument("targets", nargs="+", metavar="EXPERIMENT|RUN-ID")
    p.set_defaults(func=run)


def who() -> str:
    """The person cancelling: the GitLab user in CI, else the login name."""
    return os.environ.get("GITLAB_USER_LOGIN") or getpass.getuser()


class Terminated(KeyboardInterrupt):
    """SIGTERM, as told from Ctrl-C: in a merge-request pipeline it is GitLab cancelling the job."""


def raise_terminated(signum, frame) -> None:
    """The SIGTERM handler while runs are watched."""
    raise Terminated


class Held:
    """The SIGTERM handler while runs start: it only notes the signal, for an interrupt then
    could leave a job that no record names yet; `with held.restoring(previous):`."""

    signalled = False

    def __call__(self, signum, frame) -> None:
        self.signalled = True

    @contextmanager
    def restoring(self, previous) -> Iterator[None]:
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)


def by_pipeline(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(who, why) when a SIGTERM in this pipeline means cancel: in a merge-request pipeline,
    GitLab stops an `interruptible` job when the pipeline is cancelled or superseded by a newer
    one for the same merge request. Who is "gitlab": the job cannot tell a click from a newer
    push, and GITLAB_USER_LOGIN names who started the pipeline, not who stopped it. None
    elsewhere: the default branch and schedules pause, as on Ctrl-C."""
    if env.get("CI_PIPELINE_SOURCE") != "merge_request_event":
        return None
    iid, pipeline = env.get("CI_MERGE_REQUEST_IID") or "?", env.get("CI_PIPELINE_ID") or "?"
    return "gitlab", (f"pipeline {pipeline} of merge request !{iid} was cancelled or superseded "
                      "by a newer one (GitLab stopped its job)")


def interrupted(active: list, by: tuple[str, str] | None) -> None:
    """Save every run within moments (runner/runs/lifecycle.py records a cancel before stopping
    any job): cancelled `by` (who, why), else paused with the jobs left running."""
    from runner.runs import lifecycle
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for r in active:
        if by and not r.finished:
            try:
                lifecycle.cancel(r, *by)
            except MsoError as exc:   # recorded as cancelled; the others are cancelled still
                print(f"mso: {exc}", file=sys.stderr)
        elif not r.finished:
            lifecycle.pause(r, "the runner was interrupted; `mso run` resumes")
        else:
            r.save()
    print("mso: interrupted; " + (f"jobs cancelled ({by[1]})" if by else
          "jobs keep running and `mso run` resumes watching them"), file=sys.stderr)


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
