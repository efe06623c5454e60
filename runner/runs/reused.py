"""Taking over earlier results: a reused task is recorded as succeeded, with the earlier task's
times, exit code, memory, outputs and metrics, a link to where it ran (`reused`), and its files in
results/ (logs, collected outputs) copied into the new run's folder, so that each run's folder
holds every result of its sweep."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from runner.plan.reuse import Source
from runner.state import RunRecord, State

_TAKEN = ("job_id", "submitted", "started", "ended", "exit_code", "peak_memory_kb", "outputs",
          "metrics")


def take_over(record: RunRecord, reuse: Mapping[str, Source], results: Path) -> None:
    """Mark the record's reused tasks succeeded and copy their files into `results`/<task>."""
    for t in record.tasks:
        source = reuse.get(t.id)
        if source is None:
            continue
        for key in _TAKEN:
            setattr(t, key, getattr(source.record, key))
        t.stdout, t.stderr = _renamed(source.record.stdout, t.id), _renamed(source.record.stderr, t.id)
        t.reused = {"run": source.run, "task": source.task}
        t.state = State.SUCCEEDED
        _copy(source.folder, results / t.id)


def _renamed(path: str, task: str) -> str:
    """A log's name in the new run: the same file under the new task's folder."""
    return f"{task}/{path.split('/', 1)[1]}" if "/" in path else path


def _copy(src: Path, dst: Path) -> None:
    """The earlier task's folder, regular files only (a record arrives by merge request: a
    symlink in it is not followed), hard-linked where the file system allows."""
    if not src.is_dir() or src.is_symlink():
        return
    for folder, dirs, files in os.walk(src):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
        target = dst / here.relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            if (here / name).is_symlink() or not (here / name).is_file():
                continue
            try:
                os.link(here / name, target / name)
            except OSError:
                shutil.copy2(here / name, target / name)
