"""The runner's own data cache, `<repo>/.mso/cache/sha256/<hash>`: the first leg of the relayed
and local routes, kept across runs. Same layout and rules as a host's (runner/data/cache.py):
a lock per hash, the data filled into `<key>.part/data`, verified, its files made read-only and
renamed into place; a folder's part is resumed, a file's restarts, a mismatch removes it."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from runner.data.cache import Stored, Want, mismatch
from runner.declarations import manifest as manifests
from runner.errors import StagingError
from runner.fsutil import sha256_file

Fill = Callable[[Path], None]    # puts the data at the path it is given


def default_root(repo_root: Path) -> Path:
    return Path(repo_root) / ".mso" / "cache" / "sha256"


class RunnerCache:
    """Entries on this machine; `ensure` fills one at most once (per lock) and verifies it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def ensure(self, want: Want, fill: Fill, where: str) -> tuple[Stored, str | None]:
        """The entry (filled if missing) and, for a folder, its manifest text."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _locked(self.root / f"{want.key}.lock"):
            if want.expect and self.path(want.expect).exists():
                return Stored(want.expect, 0, True), want.manifest
            part = self.root / f"{want.key}.part"
            if not want.folder:
                shutil.rmtree(part, ignore_errors=True)
            part.mkdir(exist_ok=True)
            try:
                fill(part / "data")
                sha, text = _verify(want, part / "data", where)
            except BaseException:
                if not want.folder:      # a folder's part is resumed by the next transfer
                    shutil.rmtree(part, ignore_errors=True)
                raise
            return self._keep(part, sha, _size(part / "data")), text

    def _keep(self, part: Path, sha: str, size: int) -> Stored:
        if self.path(sha).exists():
            _remove(part)
            return Stored(sha, size, True)
        _read_only(part / "data")
        os.rename(part / "data", self.path(sha))
        _remove(part)
        return Stored(sha, size, False)


def folder_manifest(path: Path) -> str:
    """A folder's manifest text (sha256sum's format, sorted by path)."""
    return manifests.text(manifests.of_folder(path))


def _verify(want: Want, data: Path, where: str) -> tuple[str, str | None]:
    if not data.exists():
        raise StagingError(f"{where}: {want.label}: nothing arrived")
    if not want.folder:
        got = sha256_file(data)
        if want.expect and got != want.expect:
            _remove(data.parent)
            raise StagingError(mismatch(want, where, got))
        return got, None
    text = folder_manifest(data)
    got = hashlib.sha256(text.encode()).hexdigest()
    if want.expect and got != want.expect:
        differ = sorted({ln.split("  ", 1)[-1] for ln in
                         set(text.splitlines()) ^ set((want.manifest or "").splitlines())})
        _remove(data.parent)
        raise StagingError(mismatch(want, where, got, differ))
    return got, text


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _read_only(path: Path) -> None:
    """Files only: tasks get hard links, and must not change them for each other."""
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        if p.is_file() and not p.is_symlink():
            p.chmod(p.stat().st_mode & ~0o222)


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


@contextmanager
def _locked(lock: Path) -> Iterator[None]:
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
