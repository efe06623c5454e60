"""Paths written in declarations: they must stay inside the run directory or the repository."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Iterator

CONTROL = re.compile(r"[\n\r\x00]")   # what no path or job-script value may hold


def unsafe_path(path: str) -> str:
    """Why a relative path would leave its folder, or '' when it stays inside."""
    if CONTROL.search(path):
        return "it contains a newline or NUL"
    if not path.strip():
        return "it is empty"
    if path.startswith(("/", "~")):
        return "it is absolute"
    if ".." in path.split("/"):
        return "it climbs out with '..'"
    return ""


def outside(root: str, rel: str) -> str:
    """Why `root/rel`, with symlinks followed, is not a file inside `root` ('' when it is).

    Only the parts below `root` are looked at, each with one lstat; a symlink among them is
    followed with realpath. (`rel` has passed `unsafe_path`.)
    """
    current = root
    for part in rel.split("/"):
        if part in ("", "."):
            continue
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return "does not exist"
        if stat.S_ISLNK(mode):
            return _link_target(current, root)
    return ""


def _link_target(path: str, root: str) -> str:
    """Why the symlink `path` is not usable inside `root` ('' when it is)."""
    try:
        target = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return f"is a broken symlink (to {os.readlink(path)})"
    if not target.is_relative_to(Path(root).resolve()):
        return f"is a symlink to {target}, outside the repository"
    return ""


def links_out(folder: str, root: str) -> Iterator[tuple[str, str]]:
    """(path, why) of each symlink in `folder`, all the way down, that is broken or leads out."""
    if os.path.islink(folder):
        if why := _link_target(folder, root):
            yield folder, why
        return
    if not os.path.isdir(folder):
        return
    for base, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(base, name)
            if os.path.islink(path) and (why := _link_target(path, root)):
                yield path, why
