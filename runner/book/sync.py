"""Make a folder hold exactly a given set of files, touching only what changed.

Rebuilding the docs folder from scratch cost more than generating the pages (a book of 1000 runs:
7.6 s to delete 30000 files here), and most files stay the same between two builds.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from pathlib import Path
from typing import AbstractSet, Iterable, Iterator, Mapping

Content = bytes | Path | str   # the bytes of a file, or a file to link (or copy) there


def sync(folder: Path, wanted: Mapping[str, Content], keep: AbstractSet[str] = frozenset()) -> None:
    """Make `folder` hold exactly `wanted` (relative path -> content), and the subfolders in
    `keep` as they are: they are neither looked into nor touched (`wanted` names nothing in
    them), which spares a walk of what the caller knows did not change."""
    folder.mkdir(parents=True, exist_ok=True)
    files, dirs = set(), set()
    for rel, is_dir in _walk(folder, keep):
        (dirs if is_dir else files).add(rel)
    for rel in sorted(files - set(wanted)):
        (folder / rel).unlink()
    needed = _parents(wanted)
    held = _parents(f"{k}/." for k in keep)   # the kept folders and those above them
    for rel in sorted(dirs - needed - held, reverse=True):   # children before parents
        (folder / rel).rmdir()
    for rel in sorted(needed - dirs):
        (folder / rel).mkdir(exist_ok=True)
    for rel, content in wanted.items():
        if rel not in files or not _same(folder / rel, content):
            _put(folder / rel, content)


def _walk(folder: Path, keep: AbstractSet[str], prefix: str = "") -> Iterator[tuple[str, bool]]:
    """(relative path, is a folder) of everything under `folder` but inside the folders in
    `keep`; symlinks count as files."""
    with os.scandir(folder) as entries:
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if rel not in keep:
                    yield from _walk(Path(entry.path), keep, rel + "/")
                yield rel, True
            else:
                yield rel, False


def _parents(paths: Iterable[str]) -> set[str]:
    found = set()
    for rel in paths:
        rel = posixpath.dirname(rel)
        while rel and rel not in found:
            found.add(rel)
            rel = posixpath.dirname(rel)
    return found


def _same(path: Path, content: Content) -> bool:
    try:
        have = path.stat(follow_symlinks=False)
        if isinstance(content, bytes):
            return have.st_size == len(content) and path.read_bytes() == content
        src = os.stat(content)
    except OSError:
        return False
    if (have.st_dev, have.st_ino) == (src.st_dev, src.st_ino):
        return True
    return (have.st_size, have.st_mtime_ns) == (src.st_size, src.st_mtime_ns)


def _put(path: Path, content: Content) -> None:
    """Write or link the content; an existing file is replaced, never written through."""
    if path.is_symlink() or path.exists():
        path.unlink()
    if isinstance(content, bytes):
        path.write_bytes(content)
        return
    try:
        os.link(content, path)   # the docs folder is only read: a hard link saves the copy
    except OSError:
        shutil.copy2(content, path)
