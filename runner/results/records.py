"""Run records under results/ with the files beside them, checked before they are trusted.

A run record arrives through merge requests like any other file, so it is validated against the
run schema and its names against the patterns that make them safe as paths and anchors; files it
names are used only when they are regular files inside the run's folder, reached without symlinks
(the folder is listed once, so this costs one directory walk per run).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

from runner import state
from runner.errors import StateError
from runner.declarations import schema
from runner.state import RunRecord

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}(-[0-9a-f]{8})?$")
TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Run:
    """One run record and the folder it lives in."""

    folder: Path
    record: RunRecord
    files: frozenset[str] = frozenset()   # regular files in the folder, relative, no symlinks

    @property
    def experiment(self) -> str:
        """The experiment the run belongs to."""
        return self.record.experiment

    @property
    def run_id(self) -> str:
        """The run's id (also its folder's name)."""
        return self.record.run_id

    def file(self, rel: str | None) -> Path | None:
        """The file at `rel` (relative to the run folder) if it is a regular file inside it."""
        rel = posixpath.normpath(rel) if rel else ""
        return self.folder / rel if rel in self.files else None

    def listed(self, prefix: str, suffix: str) -> list[str]:
        """The run's files under `prefix` whose names end with `suffix`, sorted."""
        head, sep, _ = prefix.partition("/")
        pool = self._by_folder.get(head, ()) if sep else self._sorted
        return [f for f in pool if f.startswith(prefix) and f.endswith(suffix)]

    @cached_property
    def _sorted(self) -> tuple[str, ...]:
        return tuple(sorted(self.files))

    @cached_property
    def _by_folder(self) -> dict[str, tuple[str, ...]]:
        """The sorted files by their first folder ("" for those at the top), sorted within."""
        groups: dict[str, list[str]] = {}
        for rel in self._sorted:
            head, sep, _ = rel.partition("/")
            groups.setdefault(head if sep else "", []).append(rel)
        return {head: tuple(found) for head, found in groups.items()}


def load(results: Path) -> tuple[dict[str, list[Run]], list[str]]:
    """Every valid run under results/ by experiment (oldest first), and a warning per record
    left out (the book shows only these runs)."""
    runs: dict[str, list[Run]] = {}
    warnings: list[str] = []
    for path in sorted(results.glob(f"*/*/{state.RECORD}")):
        shown = path.relative_to(results.parent).as_posix()
        data, problem = _read(path)
        if problem:
            warnings.append(f"{shown}: {problem}; left out of the book")
            continue
        try:
            record = state.from_data(data, path)
        except StateError as exc:
            warnings.append(f"{shown}: {exc}; left out of the book")
            continue
        run = run_of(results, record)
        runs.setdefault(run.experiment, []).append(run)
    for found in runs.values():
        found.sort(key=lambda r: r.run_id)
    return runs, warnings


def run_of(results: Path, record: RunRecord) -> Run:
    """The record with its folder (results/<experiment>/<run id>) and the files in it."""
    folder = results / record.experiment / record.run_id
    files = frozenset(regular_files(folder)) if folder.is_dir() else frozenset()
    return Run(folder, record, files)


def regular_files(folder: Path | str, prefix: str = "") -> Iterator[str]:
    """Relative paths of the regular files under `folder`; symlinks are not followed or listed."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from regular_files(entry.path, f"{prefix}{entry.name}/")
            elif entry.is_file(follow_symlinks=False):
                yield prefix + entry.name


def _read(path: Path) -> tuple[dict[str, Any], str | None]:
    """The record's parsed data, and what makes it unfit for the book (or None)."""
    exp, run_id = path.parent.parent.name, path.parent.name
    if not NAME.match(exp) or not RUN_ID.match(run_id):
        return {}, "the folder is not named results/<experiment>/<run id>"
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return {}, f"unreadable run record ({exc})"
    return data, _problem(data, exp, run_id)


def _problem(data: Any, exp: str, run_id: str) -> str | None:
    """What makes parsed record data unfit for the book, or None."""
    if not schema.is_valid("run", data):
        errors = sorted(schema.validator("run").iter_errors(data), key=lambda e: list(e.path))
        where = ".".join(str(p) for p in errors[0].path) or "(top)"
        return f"not a valid run record ({where}: {errors[0].message[:200]})"
    if data["experiment"] != exp or data["run_id"] != run_id:
        return "its experiment or run id differs from its folder"
    ids = [t["id"] for t in data["tasks"]]
    bad = [i for i in ids if not TASK_ID.match(i)]
    if bad:
        return f"task id {bad[0]!r} is not a plain name"
    return "two tasks share an id" if len(set(ids)) != len(ids) else None
