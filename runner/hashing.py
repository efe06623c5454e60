"""Content hashes of files and folders (for spec hashes and manifests)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from runner.fsutil import sha256_file


def tree(path: Path) -> str | None:
    """SHA-256 of a file, or of a folder's relative paths and file contents; None if missing."""
    if path.is_file():
        return sha256_file(path)
    if not path.is_dir():
        return None
    return of_files(files(path))


def files(folder: Path) -> dict[str, str]:
    """A folder's files (relative POSIX path -> SHA-256), sorted by path; empty if missing."""
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def of_files(found: dict[str, str]) -> str:
    """The folder hash of `tree` from its `files`."""
    h = hashlib.sha256()
    for name, digest in found.items():
        h.update(name.encode() + b"\0")
        h.update(digest.encode() + b"\n")
    return h.hexdigest()
