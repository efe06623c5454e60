"""Finish a rebase that stopped on conflicts, settling those in run folders mso wrote.

Two runners can publish the same run folder, results/<experiment>/<run id>/ (one run resumed by
a push pipeline and a retried job). The side whose run.json is further along wins each file
that conflicts there. Any other conflict is a person's to resolve: the rebase is undone and
PublishError says which paths.

During a rebase the sides are swapped from a merge's: HEAD (stage 2, `--ours`) is the upstream
branch with the commits replayed so far, REBASE_HEAD (stage 3, `--theirs`) is the local commit
being replayed. This module names them UPSTREAM and LOCAL and reads files from those commits.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from runner.errors import PublishError
from runner.state import RECORD, TERMINAL

# during a rebase HEAD is the upstream side (stage 2, --ours), REBASE_HEAD ours (stage 3, --theirs)
UPSTREAM, LOCAL = "HEAD", "REBASE_HEAD"


def settle(repo, results: str, where: str) -> None:
    """Continue the stopped rebase until it is done, settling conflicts in run folders under
    `results` (relative to the work tree's top); abort and raise on any other conflict."""
    while rebasing(repo):
        paths = unmerged(repo)
        foreign = [p for p in paths if run_folder(p, results) is None]
        if foreign or not paths:
            abort(repo)
            raise PublishError(_refusal(where, foreign))
        for folder in sorted({run_folder(p, results) for p in paths}):
            side = winner(repo, folder)
            for path in (p for p in paths if run_folder(p, results) == folder):
                take(repo, side, path)
        code, _, err = repo.git.rebase("--continue", env={"GIT_EDITOR": "true"},
                                       with_extended_output=True, with_exceptions=False)
        if code and not unmerged(repo):   # (unmerged: the next commit stopped; the loop goes on)
            abort(repo)
            raise PublishError(f"rebasing onto {where} failed after settling conflicts in run "
                               f"folders: {' '.join(err.split())[:300]}; run `mso publish` again")


def _refusal(where: str, foreign: list[str]) -> str:
    """The one-line PublishError for conflicts mso does not settle."""
    if not foreign:
        return f"rebasing onto {where} stopped without conflicts to settle; run `mso publish` again"
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    return (f"rebasing onto {where} stopped on conflicts outside the run folders mso writes "
            f"({shown}); the rebase is undone and the results stay committed here: merge {where} "
            "and resolve those by hand, then run `mso publish` again")


def run_folder(path: str, results: str) -> str | None:
    """results/<experiment>/<run id> when `path` lies inside such a folder, else None."""
    parts = PurePosixPath(path).parts
    top = PurePosixPath(results).parts
    if len(parts) < len(top) + 3 or parts[:len(top)] != top:
        return None
    return "/".join(parts[:len(top) + 2])


def winner(repo, folder: str) -> str:
    """UPSTREAM or LOCAL: the side whose run record is further along (a tie goes to LOCAL)."""
    return UPSTREAM if progress(repo, UPSTREAM, folder) > progress(repo, LOCAL, folder) else LOCAL


def progress(repo, side: str, folder: str) -> tuple[bool, str]:
    """How far the run record on one side is: (ended, updated); (False, "") when unreadable."""
    text = show(repo, side, f"{folder}/{RECORD}")
    try:
        record = json.loads(text) if text is not None else {}
    except ValueError:
        record = {}
    if not isinstance(record, dict):
        record = {}
    return record.get("state") in TERMINAL, str(record.get("updated") or "")


def take(repo, side: str, path: str) -> None:
    """Resolve `path` to its version on `side`: that file, or its removal when that side has none."""
    code, _, _ = repo.git.cat_file("-e", f"{side}:{path}", with_extended_output=True,
                                   with_exceptions=False)
    if code != 0:
        repo.git.rm("-q", "--", path)
    else:
        repo.git.checkout(side, "--", path)   # writes the index at stage 0: resolved


def show(repo, side: str, path: str) -> str | None:
    """The file's text in commit `side`, or None when it has no such file."""
    code, out, _ = repo.git.show(f"{side}:{path}", with_extended_output=True,
                                 with_exceptions=False)
    return out if code == 0 else None


def unmerged(repo) -> list[str]:
    """The paths left with conflicts, relative to the work tree's top."""
    out = repo.git.diff("--name-only", "--diff-filter=U", "-z")
    return sorted({p for p in out.split("\0") if p})


def rebasing(repo) -> bool:
    """Whether a rebase is stopped in this work tree."""
    top = Path(repo.working_tree_dir)
    return any((top / repo.git.rev_parse("--git-path", name)).exists()
               for name in ("rebase-merge", "rebase-apply"))


def abort(repo) -> None:
    """Undo the rebase (it may already be gone)."""
    import git
    try:
        repo.git.rebase("--abort")
    except git.GitCommandError:
        pass   # no rebase in progress: nothing to undo
