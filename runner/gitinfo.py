"""What git says about the repository, for provenance (GitPython)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def describe(root: Path) -> dict:
    """{commit, dirty, branch} of the repository holding `root`; Nones outside git."""
    try:
        import git
        repo = git.Repo(root, search_parent_directories=True)
        commit = repo.head.commit.hexsha
        dirty = repo.is_dirty(untracked_files=False)
        branch = None if repo.head.is_detached else repo.active_branch.name
    except Exception:  # noqa: BLE001 - no git, no repository, no commit yet: provenance is unknown
        return {"commit": None, "dirty": False, "branch": None}
    return {"commit": commit, "dirty": dirty, "branch": branch}


def triggered_by(root: Path, env: Mapping[str, str] | None = None) -> str | None:
    """Who started a run: the GitLab user in a pipeline (login, else name), else the author of
    the checked-out commit; None outside git. Names only: never an address or a token."""
    env = os.environ if env is None else env
    for name in ("GITLAB_USER_LOGIN", "GITLAB_USER_NAME"):
        if env.get(name, "").strip():
            return env[name].strip()
    try:
        import git
        author = git.Repo(root, search_parent_directories=True).head.commit.author
    except Exception:  # noqa: BLE001 - no git, no repository, no commit yet: nobody to name
        return None
    return (author.name or "").strip() or None
