"""The scheduled pipeline's reconcile: the unfinished runs of a merge request that was closed
without merging are cancelled, for nobody will resume them and their jobs would go on using
core-hours. A merge request's runs live on its source branch (runner/runs/branches.py finds
them from git alone); GitLab says what became of the merge request (runner/publish/gitlab.py).
A merged one is left as it is, as are branches with no merge request or an open one.

Each run is recorded as cancelled by "mso reconcile" first, then its jobs are stopped where the
branch's own declarations say they run (runner/runs/lifecycle.py `cancel`), then the record is
committed and pushed to the branch (runner/publish/gitpush.py) when this pipeline can push; when
it cannot, the jobs are stopped all the same and it says so. A failure about one branch costs
one warning line, never the scheduled resume.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Mapping

from runner.errors import MsoError
from runner.publish.gitlab import GitLab, MergeRequest
from runner.publish.gitpush import publish, target
from runner.runs import branches
from runner.runs.worktree import Worktree

WHO = "mso reconcile"
NEEDED = ("CI_API_V4_URL", "CI_PROJECT_ID", "MSO_GITLAB_TOKEN")


def closed_without_merging(requests: list[MergeRequest]) -> MergeRequest | None:
    """The merge request whose closing ends a branch's runs: the newest, when it is closed and
    none is open (a branch may have had several; reopened is open)."""
    if not requests or any(mr.state in ("opened", "locked") for mr in requests):
        return None
    return requests[0] if requests[0].state == "closed" else None


def reconcile(root: Path, say: Callable[[str], None], env: Mapping[str, str] = os.environ,
              remote: str = "origin") -> list[str]:
    """Cancel the unfinished runs on branches whose merge request was closed without merging;
    the run ids cancelled. Says one line per branch acted on, or why nothing was looked at."""
    missing = [name for name in NEEDED if not env.get(name)]
    if missing:
        say(f"not looking for closed merge requests: {', '.join(missing)} not set")
        return []
    gitlab = GitLab(env["CI_API_V4_URL"], env["CI_PROJECT_ID"], env["MSO_GITLAB_TOKEN"])
    here = env.get("CI_COMMIT_BRANCH") or env.get("CI_DEFAULT_BRANCH")
    try:
        found = branches.with_unfinished_runs(root, remote)
    except MsoError as exc:
        say(f"warning: could not look for runs on other branches: {exc}")
        return []
    cancelled = []
    for branch in found:
        if branch.name == here:
            continue
        try:
            mr = closed_without_merging(gitlab.merge_requests(branch.name))
            if mr is not None:
                cancelled += _cancel(root, branch, mr, say)
        except MsoError as exc:
            say(f"warning: branch {branch.name}: {exc}")
    return cancelled


def _cancel(root: Path, branch: branches.Branch, mr: MergeRequest,
            say: Callable[[str], None]) -> list[str]:
    """Cancel the branch's unfinished runs in a worktree at its tip, then publish the records
    to the branch if this pipeline can push."""
    why = f"merge request !{mr.iid} was closed without merging"
    with Worktree(root, branch.commit) as tree:
        done = branches.cancel_runs(tree.root, {r.run_id for r in branch.runs}, WHO, why, say)
        if not done:
            return []
        say(f"branch {branch.name}: {why}: cancelled {', '.join(done)}")
        where = target()
        if where is None:
            say(f"branch {branch.name}: the jobs are stopped, but the records are not published "
                "(no push token in this pipeline: MSO_GITLAB_TOKEN)")
            return done
        try:
            pushed = publish(tree.root, where.remote, branch.name,
                             f"mso: {', '.join(done)} cancelled ({why})", token_env=where.token_env)
            say(f"branch {branch.name}: published the cancellation ({pushed.commit[:12]})"
                if pushed.pushed else f"branch {branch.name}: nothing to publish")
        except MsoError as exc:
            say(f"warning: branch {branch.name}: the jobs are stopped, but publishing the "
                f"records failed: {exc}")
    return done
