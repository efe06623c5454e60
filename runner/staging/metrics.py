"""A task's result metrics: the scalars of the application's `results` files, read from its
collected folder.

A `.json` file holds one object: its numbers, strings and booleans are metrics, a nested object's
under dotted names (`error.max`); lists, nulls and non-finite numbers are left out. A `.csv` file
has a header row: its last row is read, numbers parsed, the rest kept as text. Anything wrong with
a file is a warning on the task, never a failure: the task's outputs are what it produced.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any, Iterable

from runner.declarations.models import ResultFile
from runner.fsutil import inside
from runner.secrets import Secrets

MAX_BYTES = 1024 * 1024   # a larger result file is not read
MAX_METRICS = 200         # a task keeps at most this many
MAX_TEXT = 200            # characters of a text value kept
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class BadFile(Exception):
    """A result file that cannot be read as metrics; the message says why."""


def read(work: Path, files: Iterable[ResultFile], secrets: Secrets) -> tuple[dict[str, Any], list[str]]:
    """The metrics of a task whose outputs are in `work`, and a warning per problem."""
    metrics: dict[str, Any] = {}
    warnings: list[str] = []
    for rf in files:
        try:
            # secrets masked first, as in the logs: a name or a text value may hold one
            found = parse(rf.file, secrets.mask(_load(work, rf.file)))
        except BadFile as exc:
            warnings.append(f"result file {rf.file} {exc}; its metrics were not collected")
            continue
        if rf.fields:
            if absent := [f for f in rf.fields if f not in found]:
                warnings.append(f"result file {rf.file} has no {', '.join(absent)}")
            found = {f: found[f] for f in rf.fields if f in found}
        metrics.update(found)
    if len(metrics) > MAX_METRICS:
        warnings.append(f"the result files hold {len(metrics)} metrics; the first {MAX_METRICS} "
                        "were kept (name the ones that matter in the application's results[].fields)")
        metrics = dict(list(metrics.items())[:MAX_METRICS])
    return metrics, warnings


def parse(name: str, text: str) -> dict[str, Any]:
    """The metrics of one result file's text; `name` says its format (.csv, else JSON)."""
    if name.lower().endswith(".csv"):
        return _csv(text)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadFile(f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadFile(f"holds a JSON {type(data).__name__}, not an object of metrics")
    return dict(_flat(data, ""))


def _load(work: Path, rel: str) -> str:
    path = work / rel
    if not path.is_file() and not path.is_symlink():
        raise BadFile("was not produced")
    if not inside(path, work):
        raise BadFile("points outside the work dir")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BadFile(f"is {size} bytes, more than the {MAX_BYTES} read")
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise BadFile("is not UTF-8 text") from None
    except OSError as exc:
        raise BadFile(f"cannot be read ({exc.strerror or exc})") from None


def _flat(data: dict, prefix: str) -> Iterable[tuple[str, Any]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flat(value, name + ".")
        elif isinstance(value, str):
            yield _short(name), _short(value)
        elif isinstance(value, (bool, int)) or _finite(value):
            yield _short(name), value


def _csv(text: str) -> dict[str, Any]:
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if r]
    except csv.Error as exc:
        raise BadFile(f"is not valid CSV ({exc})") from None
    if len(rows) < 2:
        raise BadFile("has no data row under its header" if rows else "is empty")
    found = {}
    for key, cell in zip(rows[0], rows[-1]):
        value = _number(cell.strip())
        if key.strip() and value is not None:
            found[_short(key.strip())] = value
    return found


def _number(cell: str) -> Any:
    """A CSV cell as an int or float when it is one, else its text (None: nothing to keep)."""
    if _INT.fullmatch(cell):
        return int(cell)
    if _FLOAT.fullmatch(cell):
        value = float(cell)
        return value if math.isfinite(value) else None
    if cell.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return None
    return _short(cell) or None


def _finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _short(text: str) -> str:
    """Text as a metric keeps it: at most MAX_TEXT characters."""
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 3] + "..."
