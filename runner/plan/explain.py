"""What changed since an experiment's last run, field by field, from the spec snapshot kept with
each run (spec.json, runner/plan/spec.py) and the one the plan makes now:

    matrix.nu: [0.05, 0.1, 0.2] → [0.05, 0.1, 0.4]
    applications/heat/heat.py changed
    dataset gaussian-bump: sha256 changed
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

from runner.state import SPEC, RunRecord

_LONG = 60   # values longer than this are shown shortened


def last_snapshot(runs: list[tuple[Path, RunRecord]]) -> tuple[str | None, dict | None]:
    """The latest of an experiment's runs (state.records) and the spec snapshot it kept (None: no
    run, or a run recorded before snapshots were kept)."""
    if not runs:
        return None, None
    folder, record = runs[-1]
    try:
        snap = json.loads((folder / SPEC).read_text("utf-8"))
    except (OSError, ValueError):
        snap = None
    return record.run_id, snap if isinstance(snap, dict) and snap else None


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """One line per change between two snapshots, in a reader's terms."""
    out = []
    if old.get("format") != new.get("format"):
        out.append("mso's run format changed (every point runs again)")
    out += _fields("", _experiment(old.get("experiment", {})), _experiment(new.get("experiment", {})))
    out += _applications(old.get("applications", {}), new.get("applications", {}))
    for name in _names(old.get("infrastructures", {}), new.get("infrastructures", {})):
        out += _fields(f"infrastructure {name}: ", old.get("infrastructures", {}).get(name),
                       new.get("infrastructures", {}).get(name))
    old_ds, new_ds = old.get("datasets", {}), new.get("datasets", {})
    for name in _names(old_ds, new_ds):
        if name not in old_ds:
            out.append(f"dataset {name}: now an input")
        elif name not in new_ds:
            out.append(f"dataset {name}: no longer an input")
        elif old_ds[name] != new_ds[name]:
            out.append(f"dataset {name}: sha256 changed")
    return out


def _applications(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for name in _names(old, new):
        a, b = old.get(name), new.get(name)
        if a is None or b is None:
            out.append(f"application {name}: {'now used' if a is None else 'no longer used'}")
            continue
        files_a, files_b = a.get("file_list"), b.get("file_list")
        skip = {"file_list"} | ({"files"} if files_a is not None and files_b is not None else set())
        out += _fields(f"application {name}: ", {k: v for k, v in a.items() if k not in skip},
                       {k: v for k, v in b.items() if k not in skip})
        if "files" in skip:
            for path in _names(files_a, files_b):
                if files_a.get(path) != files_b.get(path):
                    what = ("added" if path not in files_a else
                            "removed" if path not in files_b else "changed")
                    out.append(f"applications/{name}/{path} {what}")
    return out


def _experiment(exp: Mapping[str, Any]) -> dict[str, Any]:
    """The experiment with its matrix and steps keyed by name, so changes are named by them."""
    exp = dict(exp)
    if isinstance(exp.get("matrix"), list):
        exp["matrix"] = {axis[0]: axis[1] for axis in exp["matrix"] if len(axis) == 2}
    if isinstance(exp.get("steps"), list):
        exp["steps"] = {s.get("name", str(i)): s for i, s in enumerate(exp["steps"])}
    return exp


def _fields(prefix: str, old: Any, new: Any, path: str = "") -> list[str]:
    """Changed leaves as `prefix path: old → new`; maps are walked, anything else compared whole."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for key in _names(old, new):
            out += _fields(prefix, old.get(key, _NONE), new.get(key, _NONE),
                           f"{path}.{key}" if path else str(key))
        return out
    if old == new:
        return []
    return [f"{prefix}{path or 'declaration'}: {_shown(old)} → {_shown(new)}"]


_NONE = object()
_HASH = re.compile(r"(sha256:)?[0-9a-f]{64}")


def _shown(value: Any) -> str:
    if value is _NONE:
        return "(not set)"
    if isinstance(value, str) and _HASH.fullmatch(value):
        return value[:len(value) - 52]   # a hash: its first 12 digits (after any `sha256:`)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _LONG else text[:_LONG - 1] + "…"


def _names(a: Mapping | None, b: Mapping | None) -> list[str]:
    return sorted(set(a or {}) | set(b or {}), key=str)
