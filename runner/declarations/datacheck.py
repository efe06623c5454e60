"""`mso validate --data`: each dataset kept in the repository still has its declared sha256,
and each folder kept in the repository with a manifest still has exactly the files it lists, each
with its sha256.

Content hashes are remembered in `.mso/cache/data.json` (gitignored) by path, size and mtime in
nanoseconds, as git's index remembers files: data that did not change is not read again. A folder
is remembered by the sizes and mtimes of all its files.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner import hashing
from runner.errors import Location, SpecError
from runner.fsutil import write_atomic
from runner.declarations import manifest, yamlload
from runner.declarations.models import Dataset, Repository

CACHE = Path(".mso", "cache", "data.json")
VERSION = 1
# a file written this recently may change again within the same mtime tick: not remembered yet
SETTLED_NS = 2_000_000_000


class Hashes:
    """Content hashes (hashing.tree) of a repository's files and folders, cached on disk."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.file = self.root / CACHE
        self.entries = _read(self.file)
        self._dirty = False

    def of(self, location: str) -> str | None:
        """The content hash of a file or folder given relative to the root; None if missing."""
        full = self.root / location
        stamp = _stamp(full)      # before reading: a change while hashing is seen next time
        if stamp is None:
            return None
        entry = self.entries.get(location)
        if isinstance(entry, dict) and entry.get("stamp") == stamp["key"]:
            return entry.get("sha256")
        digest = hashing.tree(full)
        if digest is not None and time.time_ns() - stamp["newest"] > SETTLED_NS:
            self.entries[location] = {"stamp": stamp["key"], "sha256": digest}
            self._dirty = True
        return digest

    def save(self) -> None:
        """Write the cache if it changed; a cache that cannot be written only costs time."""
        if not self._dirty:
            return
        text = json.dumps({"version": VERSION, "entries": self.entries}, indent=1, sort_keys=True)
        try:
            write_atomic(self.file, text + "\n")
            self._dirty = False
        except OSError:
            pass


def content_hash(root: Path, location: str) -> str | None:
    """hashing.tree of a path of the repository, served from the cache when it did not change."""
    hashes = Hashes(root)
    digest = hashes.of(location)
    hashes.save()
    return digest


@dataclass(frozen=True)
class Changed:
    """A dataset whose data no longer has its declared sha256."""

    dataset: Dataset
    sha256: str


def changed(repo: Repository) -> list[Changed]:
    """Every dataset kept in the repository with a declared sha256 that its data no longer has
    (data that is missing is the cross-file checks' to report)."""
    hashes = Hashes(Path(repo.root))
    found = []
    for ds in sorted(repo.datasets.values(), key=lambda d: d.name):
        if ds.in_repository and ds.sha256:
            digest = hashes.of(ds.location)
            if digest is not None and digest != ds.sha256:
                found.append(Changed(ds, digest))
    hashes.save()
    return found


def checked(repo: Repository) -> int:
    """How many datasets `changed` and `unlike_manifest` check."""
    return sum(1 for ds in repo.datasets.values()
               if ds.in_repository and (ds.sha256 or ds.manifest is not None))


def errors(repo: Repository) -> list[SpecError]:
    """One error per changed dataset, at its `sha256` line (or its manifest), saying what to do."""
    root = Path(repo.root)
    return [_error(root, c) for c in changed(repo)] + unlike_manifest(repo)


@dataclass(frozen=True)
class Differences:
    """How a folder differs from its manifest."""

    unlisted: list[str]    # on disk, not in the manifest
    missing: list[str]     # in the manifest, not on disk
    changed: list[str]     # both, with another sha256

    def __bool__(self) -> bool:
        return bool(self.unlisted or self.missing or self.changed)

    def text(self) -> str:
        parts = [(self.unlisted, "not in the manifest"), (self.missing, "listed but not there"),
                 (self.changed, "with another sha256")]
        return "; ".join(f"{_names(found)} {what}" for found, what in parts if found)


def differences(hashes: Hashes, location: str, listed: dict[str, str] | None) -> Differences:
    """How the folder at `location` (relative to the repository) differs from a manifest."""
    folder = location.rstrip("/")
    on_disk = folder_files(hashes.root / folder)
    listed = dict(listed or {})
    common = sorted(on_disk & listed.keys())
    return Differences(sorted(on_disk - listed.keys()), sorted(listed.keys() - on_disk),
                       [f for f in common if hashes.of(f"{folder}/{f}") != listed[f]])


def folder_files(folder: Path) -> set[str]:
    """The files of a folder, by POSIX path inside it (what a manifest lists)."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def unlike_manifest(repo: Repository) -> list[SpecError]:
    """One error per folder kept in the repository that differs from its manifest (a folder
    that is missing is the cross-file checks' to report)."""
    root = Path(repo.root)
    hashes, found = Hashes(root), []
    for ds in sorted(repo.datasets.values(), key=lambda d: d.name):
        if not (ds.in_repository and ds.manifest is not None and (root / ds.location).is_dir()):
            continue
        if diff := differences(hashes, ds.location, dict(ds.manifest)):
            found.append(_unlike(root, ds, diff))
    hashes.save()
    return found


def _unlike(root: Path, ds: Dataset, diff: Differences) -> SpecError:
    side = manifest.sidecar(root, ds.name)
    where = Location(side.relative_to(root).as_posix()) if side.is_file() else \
        _where(root, ds, "manifest")
    folder = shlex.quote(ds.location)
    return SpecError(where, f"dataset '{ds.name}': the folder {ds.location} differs from its "
                     f"manifest: {diff.text()}",
                     f"restore it (`git checkout -- {folder}`), or if the change is meant, "
                     f"`mso dataset add {folder} --name {ds.name} --force`")


def _names(found: list[str], most: int = 3) -> str:
    shown = ", ".join(found[:most]) + (f" and {len(found) - most} more" if len(found) > most
                                       else "")
    return f"{len(found)} file{'s' if len(found) > 1 else ''} ({shown})"


def _error(root: Path, c: Changed) -> SpecError:
    ds = c.dataset
    hint = (f"restore it (`git checkout -- {shlex.quote(ds.location)}`), or if the change is "
            f"meant, set `sha256: {c.sha256}`")
    full = root / ds.location
    if ds.size is not None and full.is_file() and full.stat().st_size != ds.size:
        hint += f" and `size: {full.stat().st_size}`"
    return SpecError(_where(root, ds), f"dataset '{ds.name}': {ds.location} changed: its sha256 "
                     f"is now {c.sha256[:12]}..., not the declared {ds.sha256[:12]}...", hint)


def _where(root: Path, ds: Dataset, key: str = "sha256") -> Location:
    try:
        return yamlload.Reader().load(root / ds.path, ds.path).where((key,))
    except SpecError:   # the file changed since it was loaded: name the file alone
        return Location(ds.path, 0, 0, key)


def _read(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    entries = data.get("entries") if isinstance(data, dict) and data.get("version") == VERSION \
        else None
    return entries if isinstance(entries, dict) else {}


def _stamp(full: Path) -> dict[str, Any] | None:
    """What says a path did not change (`key`), and its newest mtime; None if it is missing."""
    try:
        if full.is_file():
            st = full.stat()
            return {"key": [st.st_size, st.st_mtime_ns], "newest": st.st_mtime_ns}
        if not full.is_dir():
            return None
        h, newest = hashlib.sha256(), 0
        for p in sorted(full.rglob("*")):
            if p.is_file():
                st = p.stat()
                h.update(f"{p.relative_to(full).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n"
                         .encode())
                newest = max(newest, st.st_mtime_ns)
        return {"key": ["folder", h.hexdigest()], "newest": newest}
    except OSError:
        return None
