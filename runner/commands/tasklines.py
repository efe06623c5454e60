"""The lines a person reads about a task: its parameters in short, and a failure told in full
(parameters, reason, the end of its stderr, where its logs are)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from runner.words import plural

if TYPE_CHECKING:
    from runner.runs.active import ActiveRun
    from runner.state import TaskRecord

TAIL_LINES = 10
LINE_WIDTH = 60      # the parameters on a task's event line
FULL_WIDTH = 300     # the parameters and each stderr line under a failure
VALUE_WIDTH = 24     # one value on an event line
_TAIL_BYTES = 64 * 1024   # enough for 10 lines of any sane log; a log's start is never read
INDENT = "    "


def short(text: str, width: int) -> str:
    """The text, cut to `width` characters with an ellipsis when longer."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def value_text(value: Any) -> str:
    """A parameter's value as written in a sweep: strings bare, lists and maps compact."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{value_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def params_text(parameters: dict[str, Any], keys: Iterable[str] | None = None,
                width: int = LINE_WIDTH, value_width: int = VALUE_WIDTH) -> str:
    """`nu=0.4 n=64`: the named parameters (all when `keys` is None), each value and the whole
    cut short so that a line stays readable with many parameters."""
    names = list(parameters) if keys is None else [k for k in keys if k in parameters]
    return short(" ".join(f"{k}={short(value_text(parameters[k]), value_width)}" for k in names),
                 width)


def distinguishing(all_parameters: list[dict[str, Any]]) -> list[str]:
    """The parameters whose values differ between a run's tasks (the sweep's axes), in the order
    the tasks name them; every parameter when they are all alike (a run of one task)."""
    keys = list(dict.fromkeys(k for p in all_parameters for k in p))
    _missing = object()
    varying = [k for k in keys if len({repr(p.get(k, _missing)) for p in all_parameters}) > 1]
    return varying or keys


def task_line(experiment: str, task_id: str, label: str, text: str) -> str:
    """`heat-sweep main-0002 (nu=0.4 n=64): succeeded`."""
    return f"{experiment} {task_id}{f' ({label})' if label else ''}: {text}"


def where(path: Path, cwd: Path) -> str:
    """A path as the user can type it from where they are: relative when inside `cwd`."""
    try:
        return str(Path(path).resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)


def last_lines(path: Path, count: int = TAIL_LINES) -> list[str] | None:
    """The file's last `count` lines (only its end is read); None when it is missing or empty."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(size - _TAIL_BYTES, 0))
            data = fh.read()
    except OSError:
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > _TAIL_BYTES:
        lines = lines[1:]   # the first line read may be cut
    return lines[-count:] or None


def failure_lines(parameters: dict[str, Any], reason: str | None, stderr: list[str] | None,
                  started: bool, logs: str | None, command: str) -> list[str]:
    """What is shown under a failed task's line: its parameters, its reason, the last lines of
    its stderr (already masked), where its logs are and how to read them."""
    shown = params_text(parameters, width=FULL_WIDTH, value_width=FULL_WIDTH)
    out = [f"{INDENT}parameters: {shown or '(none)'}",
           f"{INDENT}reason: {reason or 'unknown'}"]
    if stderr:
        out.append(f"{INDENT}stderr, last {plural(len(stderr), 'line')}:")
        out += [f"{INDENT}  | {short(line, FULL_WIDTH)}".rstrip() for line in stderr]
    else:
        out.append(f"{INDENT}stderr: " + ("(empty)" if started else "(none: the command never started)"))
    if logs:
        out.append(f"{INDENT}logs: {logs}")
    out.append(f"{INDENT}read them: {command}")
    return out


def logs_command(run_id: str, task_id: str, repo: Path, cwd: Path, *options: str) -> str:
    """The `mso logs` line that shows a task's logs, typed from `cwd`."""
    parts = ["mso"]
    if Path(repo).resolve() != cwd.resolve():
        parts += ["-C", where(repo, cwd)]
    return " ".join(shlex.quote(p) for p in [*parts, "logs", run_id, task_id, *options])


def failure(run: "ActiveRun", task: "TaskRecord", cwd: Path) -> list[str]:
    """The lines under a failed task of a run being watched (its stderr was collected into
    results/ before the failure was told), secrets masked."""
    stderr = run.results / (task.stderr or f"{task.id}/stderr.txt")
    tail = last_lines(stderr)
    if tail:
        tail = run.secrets.mask("\n".join(tail)).splitlines()
    folder = run.results / task.id
    logs = where(stderr, cwd) if tail else where(folder, cwd) if folder.is_dir() else None
    command = logs_command(run.record.run_id, task.id, run.results.parents[2], cwd,
                           *(["--stderr"] if tail else []))
    return failure_lines(task.parameters, task.reason, tail, bool(task.started), logs, command)
