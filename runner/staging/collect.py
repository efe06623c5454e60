"""Stage-out: declared outputs (with sha256), the wrapper's record and the logs, into results/."""

from __future__ import annotations

import fnmatch
import os
import shutil
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from runner.fsutil import inside, sha256_file
from runner.plan.resolve import TaskPlan
from runner.schedulers import script
from runner.secrets import Secrets
from runner.staging import history, metrics

Hear = Callable[[str, list], None]
# outputs up to this size are copied into results/; larger ones stay in the work dir or go to the
# experiment's outputs.remote. MSO_SMALL_OUTPUT (bytes) sets it for a site, or for a test.
_SET = os.environ.get("MSO_SMALL_OUTPUT", "").strip()
SMALL = int(_SET) if _SET.isdigit() else 20 * 1024 * 1024
LOG_TAIL = 2 * 1024 * 1024  # logs are kept up to this size (their end)


@dataclass
class Collected:
    outputs: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)     # declared globs that matched nothing
    refused: list[str] = field(default_factory=list)     # matches that leave the work dir
    exit_code: int | None = None
    started: str | None = None
    ended: str | None = None
    peak_memory_kb: int | None = None
    logs: dict | None = None      # the summary of its classified logs (TaskRecord.logs)
    metrics: dict | None = None   # its result metrics (the application's `results` files)
    usage: dict | None = None     # what the wrapper measured: {elapsed_s, cpu_s}
    warnings: list[str] = field(default_factory=list)   # a filter's pattern ran out of time, ...


@dataclass
class Left:
    """What a finished task left, as its work area tells before collection: what the wrapper
    recorded, the outputs too large to fetch (hashed where they are), the files that could not be
    fetched because they point outside the work dir."""

    records: Collected
    large: list[dict] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def wrapper_files(work: Path) -> Collected:
    """What the job wrapper recorded in a work dir: exit code, start and end time, peak memory."""
    return records({rel: _text(work / rel) for rel in script.RECORDS})


def records(raw: dict[str, str | None]) -> Collected:
    """The wrapper's records from their texts, by path in the work dir (script.RECORDS)."""
    texts = {rel: (text or "").strip() or None for rel, text in raw.items()}
    return Collected(exit_code=_int(texts.get(script.EXIT)), started=_when(texts.get(script.STARTED)),
                     ended=_when(texts.get(script.ENDED)), peak_memory_kb=_int(texts.get(script.PEAK)),
                     usage=_usage(texts))


def _usage(texts: dict[str, str | None]) -> dict | None:
    """What the wrapper measured: elapsed (its end minus its start, epoch seconds) and the CPU
    seconds of `times` (absent from an older wrapper's folder)."""
    start, end = texts.get(script.STARTED) or "", texts.get(script.ENDED) or ""
    out = {"elapsed_s": int(end) - int(start)} if start.isdigit() and end.isdigit() else {}
    cpu = script.cpu_seconds(texts.get(script.CPU))
    return {**out, "cpu_s": cpu} if cpu is not None else out or None


def collect(task: TaskPlan, work: Path, dest: Path, secrets: Secrets, with_outputs: bool,
            left: Left, here: bool = True, hear: Hear = lambda rel, entries: None) -> Collected:
    """Copy logs (always, every secret value masked; empty ones are not kept) and outputs (when
    the task succeeded) from a work dir into `dest` (`here`: `work` is the task's work dir
    itself, not a copy fetched from its host); `hear(log, entries)` gets the classified lines
    not heard while the task ran."""
    c = replace(left.records, outputs=[], missing=[], refused=[])
    _copy_tail(work / script.STDOUT, dest / "stdout.txt", secrets)
    _copy_tail(work / script.STDERR, dest / "stderr.txt", secrets)
    c.logs = _classified(task, work, dest, secrets, here, hear, c.warnings)
    if with_outputs:
        _outputs(task, work, dest, c, left)
        found, problems = metrics.read(work, task.results, secrets)
        c.metrics, c.warnings = found or None, c.warnings + problems
    return c


def _classified(task: TaskPlan, work: Path, dest: Path, secrets: Secrets, here: bool,
                hear: Hear, warnings: list[str]) -> dict | None:
    """Each declared log copied and its classified lines completed (what live tailing recorded
    is kept and gone on from: runner/staging/history.py); the task's summary of them."""
    parts = []
    for spec in task.logs:
        found = [p.relative_to(work).as_posix() for p in sorted(work.glob(spec.path))
                 if p.is_file() and inside(p, work)]
        for rel in found or ([] if history.is_glob(spec.path) else [spec.path]):
            stream = history.LogStream(spec, rel, task.expected_steps, dest,
                                       history.cursor_path(work.parent, task.id, rel), secrets)
            if rel in found:
                _copy_tail(work / rel, dest / rel, secrets)
                history.complete(stream, work / rel, here, lambda got, rel=rel: hear(rel, got))
            warnings += stream.classifier.take_warnings()
            parts.append(stream.summary)
    return history.merged(parts)


def _outputs(task: TaskPlan, work: Path, dest: Path, c: Collected, left: Left) -> None:
    # a large file that is a result file only (not an output) is listed too: not an output
    large = [o for o in left.large if any(fnmatch.fnmatch(o["path"], p) for p in task.outputs)]
    c.outputs.extend(large)
    elsewhere = [o["path"] for o in large] + left.refused   # matched, but not fetched
    for pattern in task.outputs:
        matches = [p for p in sorted(work.glob(pattern)) if p.is_file() or p.is_symlink()]
        c.refused += [rel for rel in left.refused if fnmatch.fnmatch(rel, pattern)]
        if not matches and not any(fnmatch.fnmatch(rel, pattern) for rel in elsewhere):
            c.missing.append(pattern)
        for path in matches:
            rel = path.relative_to(work).as_posix()
            if not inside(path, work):  # a symlink, or a folder that is one, pointing out
                c.refused.append(rel)
                continue
            size = path.stat().st_size
            entry = {"path": rel, "size": size, "sha256": sha256_file(path),
                     "stored": "results" if size <= SMALL else "workdir"}
            if entry["stored"] == "results":
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest / rel)
            c.outputs.append(entry)


def _copy_tail(src: Path, dst: Path, secrets: Secrets) -> None:
    size = src.stat().st_size if src.is_file() else 0
    if not size:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as fh:
        if size > LOG_TAIL:
            fh.seek(size - LOG_TAIL)
            data = b"[... mso kept the last %d bytes of %d ...]\n" % (LOG_TAIL, size) + fh.read()
        else:
            data = fh.read()
    # secrets masked, as GitLab masks job logs; collection is redone if a crash cuts it short
    dst.write_bytes(secrets.mask_bytes(data))


def _text(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _when(text: str | None) -> str | None:
    """A time the wrapper wrote, as UTC ISO 8601: seconds since the epoch (or already ISO, from
    a wrapper staged by an earlier mso and still running)."""
    if text is None or not text.isdigit():
        return text
    return datetime.fromtimestamp(int(text), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(text: str | None) -> int | None:
    """The integer on the text's last line (GNU time may write a note before it)."""
    text = (text or "").splitlines()[-1:]
    text = text[0] if text else None
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
