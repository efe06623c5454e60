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
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(path).as_posix().encode() + b"\0")
            h.update(sha256_file(p).encode() + b"\n")
    return h.hexdigest()
