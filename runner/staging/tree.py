"""What a task's work dir starts with, before it exists anywhere: generated text (the job script),
application files (copied, symlinks kept) and dataset inputs (shared by every task of the run).

A local area writes a tree into the work dir; a remote area writes every tree of a batch into
one archive, so a 1000-task sweep makes no local file per task before it is submitted.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from runner.staging import stagein

SKIPPED = ("__pycache__",)   # never staged from an application's folder


@dataclass
class Tree:
    texts: list[tuple[str, str]] = field(default_factory=list)    # (path in the work dir, text)
    copies: list[tuple[str, Path]] = field(default_factory=list)  # a file or folder, copied
    shared: list[tuple[str, Path]] = field(default_factory=list)  # the run's copy of an input

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
            stagein.place_path(src, task_dir / rel)
        for rel, text in self.texts:
            (task_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            # a plain write: a tree is written again if a crash leaves a file half-written
            (task_dir / rel).write_text(text)


def archive(trees: dict[str, Tree], fileobj) -> None:
    """Every tree, each under its task id, as one gzipped tar. A shared input is stored once; the
    other tasks get hard links to it, as a local area would."""
    with tarfile.open(fileobj=fileobj, mode="w:gz") as tar:
        first: dict[tuple[int, int], str] = {}   # (device, inode) -> the member that holds it
        now = int(time.time())
        for tid, tree in trees.items():
            for rel, src in tree.copies:
                tar.add(src, arcname=_member(tid, rel), filter=_not_skipped)
            for rel, src in tree.shared:
                for path in ([src, *sorted(src.rglob("*"))] if src.is_dir() else [src]):
                    _add_once(tar, path, _member(tid, rel, path.relative_to(src)), first)
            for rel, text in tree.texts:
                data = text.encode()
                info = tarfile.TarInfo(_member(tid, rel))
                info.size, info.mode, info.mtime = len(data), 0o644, now
                tar.addfile(info, io.BytesIO(data))


def _member(tid: str, *parts: str | Path) -> str:
    """A member's name: the task id, then the path inside its work dir ("" or "." for the dir)."""
    inner = Path(*parts).as_posix() if parts else "."
    return tid if inner == "." else f"{tid}/{inner}"


def _not_skipped(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if any(part in SKIPPED for part in info.name.split("/")) else info


def _add_once(tar: tarfile.TarFile, path: Path, name: str, first: dict) -> None:
    info = tar.gettarinfo(str(path), arcname=name)
    if not info.isreg():
        tar.addfile(info)
        return
    key = (path.stat().st_dev, path.stat().st_ino)
    if key in first:
        info.type, info.linkname, info.size = tarfile.LNKTYPE, first[key], 0
        tar.addfile(info)
        return
    first[key] = name
    with open(path, "rb") as fh:
        tar.addfile(info, fh)
