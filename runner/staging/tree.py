"""What a task's work dir starts with, before it exists anywhere: generated text (the job script),
application files (copied, symlinks kept) and dataset inputs (read-only hard links to the host's
data cache, runner/data/cache.py, where stage-in put them).

A local area writes a tree into the work dir; a remote area writes every tree of a batch into
one archive (or a few, runner/staging/area.py), so a 1000-task sweep makes no local file per task before it is submitted, then
links every input of the batch with one command: dataset bytes never travel in the archive.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED = ("__pycache__",)   # never staged from an application's folder


@dataclass
class Tree:
    texts: list[tuple[str, str]] = field(default_factory=list)    # (path in the work dir, text)
    copies: list[tuple[str, Path]] = field(default_factory=list)  # a file or folder, copied
    # (path in the work dir, the dataset's entry in the host's cache): linked, never copied
    shared: list[tuple[str, str]] = field(default_factory=list)

    def write(self, task_dir: Path) -> None:
        """Make the tree in a local folder (shared inputs are hard links where possible)."""
        for rel, src in self.copies:
            if src.is_dir():
                shutil.copytree(src, task_dir / rel, dirs_exist_ok=True, symlinks=True,
                                ignore=shutil.ignore_patterns(*SKIPPED))
            else:
                (task_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, task_dir / rel, follow_symlinks=False)
        for rel, src in self.shared:
            place_path(Path(src), task_dir / rel)
        for rel, text in self.texts:
            (task_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            # a plain write: a tree is written again if a crash leaves a file half-written
            (task_dir / rel).write_text(text)


def archive(trees: dict[str, Tree], fileobj) -> None:
    """Every tree, each under its task id, as one gzipped tar (without the shared inputs: they
    are linked on the host by `link_command`)."""
    with tarfile.open(fileobj=fileobj, mode="w:gz") as tar:
        now = int(time.time())
        for tid, tree in trees.items():
            for rel, src in tree.copies:
                tar.add(src, arcname=_member(tid, rel), filter=_not_skipped)
            for rel, text in tree.texts:
                data = text.encode()
                info = tarfile.TarInfo(_member(tid, rel))
                info.size, info.mode, info.mtime = len(data), 0o644, now
                tar.addfile(info, io.BytesIO(data))


def link_command(trees: dict[str, Tree]) -> tuple[str, str]:
    """(command, stdin) run in the work dir: every shared input of the batch, hard-linked from
    the host's cache (a copy where the cache is on another file system). Pairs of paths come
    on stdin, each ended by NUL: no path is ever part of the command's text."""
    pairs = [p for tid, tree in trees.items() for rel, src in tree.shared
             for p in (src, _member(tid, rel))]
    text = ("while IFS= read -r -d '' s && IFS= read -r -d '' d; do "
            'mkdir -p -- "$(dirname -- "$d")" && if [ -d "$s" ]; then mkdir -p -- "$d" && '
            '{ cp -al -- "$s/." "$d/" 2>/dev/null || cp -a -- "$s/." "$d/"; }; '
            'else ln -f -- "$s" "$d" 2>/dev/null || cp -pf -- "$s" "$d"; fi || exit 1; done')
    return text, "".join(f"{p}\0" for p in pairs)


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


def _member(tid: str, *parts: str | Path) -> str:
    """A member's name: the task id, then the path inside its work dir ("" or "." for the dir)."""
    inner = Path(*parts).as_posix() if parts else "."
    return tid if inner == "." else f"{tid}/{inner}"


def _not_skipped(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if any(part in SKIPPED for part in info.name.split("/")) else info
