"""A temporary git worktree at a recorded commit, for `mso rerun`, whose runs still land in the
current repository: in the worktree, results/<experiment> is a link to the current repository's
folder, and so is the work root of each local infrastructure (under .mso/, which git ignores), so
that the new record, its outputs and any work dir kept survive the worktree. The worktree is
removed on the way out, whatever happened (the links first, so nothing behind them is touched).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path

from runner.declarations.models import Repository
from runner.errors import MsoError, command_failed

WORKTREES = Path(".mso") / "rerun"   # under the current repository: same disk, ignored by git


class Worktree(AbstractContextManager):
    """`with Worktree(root, commit) as tree:` tree.root is the mso repository at the commit."""

    def __init__(self, root: Path, commit: str) -> None:
        self.current, self.commit = Path(root).resolve(), commit
        self.links: list[Path] = []
        self.folder: Path | None = None
        self.root = self.current

    def __enter__(self) -> "Worktree":
        top = Path(_git(self.current, "rev-parse", "--show-toplevel").strip())
        (self.current / WORKTREES).mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="tree-", dir=self.current / WORKTREES))
        try:
            _git(self.current, "worktree", "add", "--quiet", "--detach", str(self.folder / "tree"),
                 self.commit)
        except MsoError as exc:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise MsoError(f"cannot check out commit {self.commit} of {top}: {exc}") from None
        # the mso repository may be a folder of a larger git repository
        self.root = self.folder / "tree" / self.current.relative_to(top.resolve())
        return self

    def __exit__(self, *exc) -> None:
        for link in self.links:
            link.unlink(missing_ok=True)
        if self.folder is None:
            return
        try:
            _git(self.current, "worktree", "remove", "--force", str(self.folder / "tree"))
        except MsoError:   # a half-made worktree: remove what is there, and git's note of it
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
        subprocess.run(["git", "-C", str(self.current), "worktree", "prune"], capture_output=True)

    def link(self, rel: str) -> None:
        """Make `rel` in the worktree a link to the same folder of the current repository
        (created if missing); what the commit had there is left out of the worktree."""
        target, link = self.current / rel, self.root / rel
        target.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.is_dir():
            shutil.rmtree(link)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=True)
        self.links.append(link)

    def link_outputs(self, repo: Repository, experiment: str) -> None:
        """Results of the experiment, and the work dirs of local infrastructures under the
        repository, written through to the current repository."""
        self.link(f"results/{experiment}")
        for infra in repo.infrastructures.values():
            root = infra.work_root
            if infra.kind == "local" and not root.startswith(("/", "~")) and ".." not in Path(root).parts:
                self.link(root)


def _git(cwd: Path, *args: str) -> str:
    cmd = ["git", "-C", str(cwd), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise MsoError(command_failed(cmd, proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout
