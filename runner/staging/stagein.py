"""Stage-in: datasets into a run's work dir (once per run, checksums verified), then into each task."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

from runner.errors import StagingError, command_failed
from runner.fsutil import inside, sha256_file
from runner.plan.resolve import StagedInput
from runner.declarations.models import Dataset, Repository
from runner.words import plural

SHARED = "_inputs"


def fetch(ds: Dataset, repo: Repository, run_dir: Path) -> Path:
    """Copy a dataset into `<run dir>/_inputs/<name>/` and verify its sha256; return its path."""
    dest_dir = run_dir / SHARED / ds.name
    dest_dir.mkdir(parents=True, exist_ok=True)
    base = ds.location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or ds.name
    dest = dest_dir / base
    if ds.in_repository:
        _copy_from_repo(ds, Path(repo.root), dest)
    elif ds.location.startswith(("http://", "https://")):
        _download(ds, dest)
    else:
        _rclone(ds, dest)
    _verify(ds, dest)
    _read_only(dest)  # tasks share it through hard links: none may change it for the others
    return dest


def _read_only(path: Path) -> None:
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        if p.is_file():
            p.chmod(p.stat().st_mode & ~0o222)


def _copy_from_repo(ds: Dataset, root: Path, dest: Path) -> None:
    src = root / ds.location
    if not inside(src, root):
        raise StagingError(f"{ds.path}: {ds.location} leaves the repository (a symlink?)")
    if src.is_dir():
        for entry in src.rglob("*"):
            if not inside(entry, root):
                raise StagingError(f"{ds.path}: {entry.relative_to(root)} is a symlink that "
                                   "leaves the repository")
        shutil.copytree(src, dest, symlinks=False, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dest)


def _download(ds: Dataset, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(ds.location, timeout=60) as resp, open(tmp, "wb") as fh:
            shutil.copyfileobj(resp, fh, 1 << 20)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StagingError(f"{ds.path}: cannot download {ds.location}: {exc}") from None
    os.replace(tmp, dest)


def _rclone(ds: Dataset, dest: Path) -> None:
    if shutil.which("rclone") is None:
        raise StagingError(f"{ds.path}: {ds.location} is an rclone remote and rclone is not "
                           "installed (apt-get install rclone)")
    env = dict(os.environ)
    for var, ref in ds.credentials.items():
        if ref.env not in os.environ:
            raise StagingError(f"{ds.path}: credentials.{var} needs the environment variable "
                               f"{ref.env}, which is not set")
        env[var] = os.environ[ref.env]
    verb = "copy" if ds.location.endswith("/") else "copyto"
    cmd = ["rclone", verb, ds.location, str(dest)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise StagingError(f"{ds.path}: " + command_failed(cmd, proc.returncode, "", proc.stderr))


def _verify(ds: Dataset, dest: Path) -> None:
    if ds.sha256 and dest.is_file():
        got = sha256_file(dest)
        if got != ds.sha256:
            raise StagingError(f"{ds.path}: the sha256 of {ds.location} is {got}, the catalogue "
                               f"says {ds.sha256}; fix `sha256` if the data changed on purpose")
    if ds.size is not None and dest.is_file() and dest.stat().st_size != ds.size:
        raise StagingError(f"{ds.path}: {ds.location} has {plural(dest.stat().st_size, 'byte')}, the "
                           f"catalogue says {ds.size}")


def place(staged: StagedInput, source: Path, task_dir: Path) -> None:
    """Put one input into a task's work dir: a hard link where possible, else a copy."""
    place_path(source, task_dir / staged.target)


def place_path(source: Path, target: Path) -> None:
    """Hard-link (else copy) a file or a folder's files to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True, copy_function=_link_or_copy)
    else:
        target.unlink(missing_ok=True)
        _link_or_copy(str(source), str(target))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
