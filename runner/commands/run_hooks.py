"""What `mso run` does beside watching, for a pipeline: stop watching after a time limit (the
jobs go on and a later `mso run` resumes them), publish the run records once jobs are submitted
(so a later pipeline finds them), and keep the merge request's note and commit statuses current."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from runner.errors import MsoError

NOTIFY_EVERY = 5.0   # seconds between looks for a state change worth telling GitLab about
PUBLISH_EVERY = 60.0  # seconds between publishes after submitting (each one is a push)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """Seconds in `90`, `90s`, `50m`, `1h30m` or `2d`; an argparse type."""
    import argparse
    parts = re.fullmatch(r"\s*(?:\d+(?:\.\d+)?[smhd]?\s*)+", text or "")
    if not parts:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (like 90s, 50m, 1h30m)")
    total = sum(float(n) * _UNITS[u or "s"] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smhd]?)", text))
    if total <= 0:
        raise argparse.ArgumentTypeError("a duration must be more than zero")
    return total


def missing_secrets(repo, name: str) -> list[str]:
    """The variables an experiment's infrastructures need that this environment lacks: for a
    step with candidates, only when none of them has all of its own (placement takes one that
    does)."""
    from runner.secrets import unset
    missing: set[str] = set()
    for step in repo.experiments[name].steps:
        lacks = [unset(repo.infrastructure(p)) for p in step.places]
        if all(lacks):
            missing.update(*lacks)
    return sorted(missing)


def no_credentials_line(name: str, missing: list[str]) -> str:
    why = ("protected variables are not given to a fork's merge request"
           if os.environ.get("CI") else "set them to run it")
    return f"{name}: dry run only, {', '.join(missing)} not set ({why}); nothing is submitted"


@dataclass
class Publisher:
    """Commits and pushes results/ after submissions, so a later pipeline can resume the run."""

    root: Path
    say: Callable[[str], None]

    def __call__(self, why: str | None = None) -> None:
        """Publish now; `why` says it is an intermediate publish (the final one has none)."""
        from runner.publish.gitpush import publish, target
        where = target()
        if where is None:
            self.say("not publishing: no push token in this pipeline (MSO_GITLAB_TOKEN)")
            return
        try:
            done = publish(self.root, where.remote, None, why and f"mso: run records {why}",
                           token_env=where.token_env)
        except MsoError as exc:   # the runs go on; the final publish tries again
            self.say(f"warning: could not publish the run records: {exc}")
            return
        if done.pushed:
            self.say(f"published the run records {why or 'at the end'} ({done.commit[:12]})")


class Hooks:
    """Called by the watcher after every tick; False stops watching."""

    def __init__(self, active: list, watch_for: float | None,
                 publisher: Publisher | None, notifier, remarks: list[str]) -> None:
        self.active, self.publisher, self.notifier = active, publisher, notifier
        self.remarks = remarks
        self.deadline = time.monotonic() + watch_for if watch_for else None
        self.next_notify = 0.0
        self.next_publish = 0.0
        self.timed_out = False

    def __call__(self, submitted: int) -> bool:
        if submitted and self.publisher is not None and time.monotonic() >= self.next_publish:
            self.publisher("after submitting")
            self.next_publish = time.monotonic() + PUBLISH_EVERY
        if time.monotonic() >= self.next_notify:
            self.notify()
            self.next_notify = time.monotonic() + NOTIFY_EVERY
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.timed_out = True
            return False
        return True

    def notify(self) -> None:
        if self.notifier is not None:
            self.notifier.update([r.record for r in self.active], self.remarks)

    def stop_watching(self, limit: float) -> None:
        """After the time limit: every unfinished run is paused (its jobs go on)."""
        from runner.runs import lifecycle
        for r in self.active:
            if not r.finished:
                lifecycle.pause(r, f"mso stopped watching after {limit:g} s (--watch-for); the jobs go "
                        "on, and `mso run` (a scheduled pipeline) resumes")
