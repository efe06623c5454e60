"""Unfinished runs on other branches, for the scheduled pipeline on the default branch: a merge
request's runs live on its source branch (`mso publish` commits their records there), which the
default branch's checkout does not hold.

Found from git alone: the remote's branches are fetched into refs/remotes/<remote>/, and each
branch's tip is read with `git ls-tree` and `git show` (results/<experiment>/<run>/run.json), with
no checkout. A run is cancelled in a worktree at the branch's tip (runner/runs/worktree.py): the
branch's own declarations say where its tasks run, and its record is written there, to be
published back to the branch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from runner import state
from runner.declarations.repository import load_valid
from runner.errors import MsoError, SchedulerError
from runner.runs import lifecycle, resume
from runner.runs.worktree import _git   # one way to run git in runs/, with its errors
from runner.schedulers.context import Context
from runner.secrets import Secrets
from runner.state import RECORD, RunRecord


@dataclass(frozen=True)
class Branch:
    """A branch of the remote, at its tip, with the runs its results/ holds unfinished."""

    name: str
    commit: str
    runs: tuple[RunRecord, ...]


def with_unfinished_runs(root: Path, remote: str = "origin") -> list[Branch]:
    """Every branch of `remote` (fetched first) whose tip holds an unfinished run record."""
    prefix = _git(root, "rev-parse", "--show-prefix").strip()
    _git(root, "fetch", "--quiet", "--prune", remote, f"+refs/heads/*:refs/remotes/{remote}/*")
    tips = _git(root, "for-each-ref", "--format=%(refname:lstrip=3) %(objectname)",
                f"refs/remotes/{remote}/")
    found = []
    for line in tips.splitlines():
        name, _, commit = line.partition(" ")
        if name == "HEAD":
            continue
        runs = tuple(r for r in records_at(root, commit, prefix) if not r.state.terminal)
        if runs:
            found.append(Branch(name, commit, runs))
    return found


def records_at(root: Path, commit: str, prefix: str = "") -> list[RunRecord]:
    """The run records in results/ at a commit (`prefix`: the mso repository's folder in the
    git repository), read without a checkout; an unreadable one is left out."""
    listed = _git(root, "ls-tree", "-r", "--name-only", "--full-tree", commit, "--",
                  f"{prefix}results/")
    out = []
    for path in listed.splitlines():
        parts = PurePosixPath(path).relative_to(f"{prefix}results").parts
        if len(parts) != 3 or parts[2] != RECORD:
            continue
        try:
            out.append(state.from_data(json.loads(_git(root, "show", f"{commit}:{path}")),
                                       Path(path)))
        except (MsoError, ValueError):   # a damaged record: not ours to settle from here
            continue
    return out


def cancel_runs(root: Path, run_ids: set[str], who: str, why: str,
                warn: Callable[[str], None]) -> list[str]:
    """Cancel the unfinished runs of these ids in the mso repository at `root` (a worktree at the
    branch's tip) with its own declarations: recorded first, then their jobs stopped
    (lifecycle.cancel). The run ids recorded as cancelled; a stop that failed is warned about."""
    repo = load_valid(root)
    found = [(f, r) for f, r in state.records(root / "results")
             if r.run_id in run_ids and not r.state.terminal]
    done = []
    with Context(Secrets.of(repo)) as ctx:
        for folder, record in found:
            try:
                lifecycle.cancel(resume.load(ctx, repo, folder, record), who, why)
            except SchedulerError as exc:   # recorded as cancelled; the message names the jobs
                warn(f"warning: {exc}")
            done.append(record.run_id)
    return done
