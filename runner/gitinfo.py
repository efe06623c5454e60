"""What git says about the repository, for provenance (GitPython)."""

from __future__ import annotations

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
