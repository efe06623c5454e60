"""`mso rerun --verify`: a rerun's outputs compared with those of the run it repeats, kept beside
the original record as results/<experiment>/<run-id>/verify-<rerun-id>.json:

    {"format": 1, "run": RUN-ID, "rerun": RERUN-ID, "experiment": NAME, "commit": SHA,
     "verified": "2025-01-31T12:00:00Z",
     "result": "identical" | "differs" | "failed",
     "compared": 12, "identical": 6, "volatile": 6,
     "differences": [
       {"task": "main-0000", "path": "out/summary.json", "status": "volatile",
        "fields": [{"field": "seconds", "before": 0.012, "after": 0.013, "volatile": true}]},
       {"task": "main-0001", "path": "out/summary.json", "status": "changed",
        "fields": [{"field": "max", "before": 0.1, "after": 0.2, "volatile": false}]},
       {"task": "main-0001", "path": "out/field.npy", "status": "changed"},
       {"task": "main-0002", "path": "out/a.txt", "status": "missing"},
       {"task": "main-0002", "path": "out/b.txt", "status": "new"},
       {"task": "main-0003", "status": "failed", "reason": "exit code 1"}]}

Every output is compared by sha256 (an output left in the work dir, by the sha256 recorded when
it was collected). A JSON output kept in results/ whose sha256 differs is also compared field by
field (`fields`: dot-separated keys and list indexes, at most MAX_FIELDS): a difference only in
fields the application declares volatile (`volatile:` in its YAML) is `volatile`, which is no
changed result. `missing`: not produced by the rerun; `new`: produced only by the rerun; a task
entry without `path`: the task did not succeed in the rerun. `compared` counts the original's
outputs, `identical` those with the same sha256, `volatile` those differing only in volatile
fields. `result` is "failed" when the rerun did not succeed, "differs" when any entry is not
`volatile`, else "identical".
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from runner.fsutil import write_atomic
from runner.results.records import Run
from runner.state import RunRecord, State, TaskRecord, now

FORMAT = 1
PREFIX, SUFFIX = "verify-", ".json"
MAX_FIELDS = 50       # field differences kept per output
MAX_VALUE = 80        # characters of a value kept (longer ones are cut, as text)
RESULTS = ("identical", "differs", "failed")
Volatile = Mapping[str, Sequence[str]]   # output path or glob -> volatile fields


def file_name(rerun_id: str) -> str:
    """The verification's file name in the original run's folder."""
    return f"{PREFIX}{rerun_id}{SUFFIX}"


def compare(before: tuple[Path, RunRecord], after: tuple[Path, RunRecord],
            volatile: Volatile) -> dict[str, Any]:
    """The verification of the rerun `after` against the run `before` (each its folder and
    record), as described above."""
    (old_dir, old), (new_dir, new) = before, after
    counts = {"compared": 0, "identical": 0, "volatile": 0}
    differences: list[dict[str, Any]] = []
    for task in old.tasks:
        mine = next((t for t in new.tasks if t.id == task.id), None)
        if mine is None or mine.state != State.SUCCEEDED:
            state = mine.state.value if mine else "missing"
            differences.append({"task": task.id, "status": state,
                                "reason": (mine.reason if mine else None) or state})
            counts["compared"] += len(task.outputs)
            continue
        differences += _task(task, mine, old_dir, new_dir, volatile, counts)
    failed = new.state != State.SUCCEEDED
    changed = any(d["status"] != "volatile" for d in differences)
    return {"format": FORMAT, "run": old.run_id, "rerun": new.run_id,
            "experiment": old.experiment, "commit": (old.git or {}).get("commit"),
            "verified": now(), "result": "failed" if failed else "differs" if changed else "identical",
            **counts, "differences": differences}


def _task(old: TaskRecord, new: TaskRecord, old_dir: Path, new_dir: Path,
          volatile: Volatile, counts: dict[str, int]) -> list[dict[str, Any]]:
    """The differences between one task's outputs in the run and in the rerun."""
    theirs = {o["path"]: o for o in new.outputs}
    found = []
    for out in old.outputs:
        counts["compared"] += 1
        other = theirs.pop(out["path"], None)
        entry = {"task": old.id, "path": out["path"]}
        if other is None:
            found.append({**entry, "status": "missing"})
        elif other["sha256"] == out["sha256"]:
            counts["identical"] += 1
        else:
            fields = _fields(old.id, out, other, old_dir, new_dir, volatile)
            status = "volatile" if fields and all(f["volatile"] for f in fields) else "changed"
            counts["volatile"] += status == "volatile"
            found.append({**entry, "status": status, **({"fields": fields} if fields else {})})
    found += [{"task": old.id, "path": path, "status": "new"} for path in theirs]
    return found


def _fields(task: str, old: dict, new: dict, old_dir: Path, new_dir: Path,
            volatile: Volatile) -> list[dict[str, Any]]:
    """A JSON output's differing fields ([] when it is not JSON or not kept in results/)."""
    path = old["path"]
    if not path.endswith(".json") or "results" != old.get("stored") or "results" != new.get("stored"):
        return []
    a, b = _json(old_dir / task / path), _json(new_dir / task / path)
    if a is None or b is None:
        return []
    return [{"field": field, "before": _short(x), "after": _short(y),
             "volatile": is_volatile(path, field, volatile)}
            for field, x, y in _walk(a[0], b[0], ())][:MAX_FIELDS]


def _json(path: Path) -> tuple[Any] | None:
    """The parsed file in a 1-tuple (so a JSON null is told from unreadable), else None."""
    try:
        return (json.loads(path.read_text("utf-8")),)
    except (OSError, ValueError):
        return None


def _walk(a: Any, b: Any, where: tuple[str, ...]) -> Iterator[tuple[str, Any, Any]]:
    """(field, before, after) for every differing leaf; a key on one side only, or a list whose
    length changed, is one difference."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            yield from _walk(a.get(key, _ABSENT), b.get(key, _ABSENT), (*where, str(key)))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _walk(x, y, (*where, str(i)))
    elif a != b or type(a) is not type(b):
        yield ".".join(where) or "(the whole document)", a, b


class _Absent:
    """A key that one side does not have."""

    def __repr__(self) -> str:
        return "(absent)"


_ABSENT = _Absent()


def _short(value: Any) -> Any:
    if value is _ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False)
    return value if len(text) <= MAX_VALUE else text[:MAX_VALUE - 3] + "..."


def is_volatile(path: str, field: str, volatile: Volatile) -> bool:
    """Whether a field of an output is declared volatile: a declared field covers itself and
    everything under it; `*` matches any one key or index."""
    parts = field.split(".")
    for pattern, declared in volatile.items():
        if not fnmatch.fnmatchcase(path, pattern):
            continue
        for want in (d.split(".") for d in declared):
            if len(parts) >= len(want) and all(w in ("*", p) for w, p in zip(want, parts)):
                return True
    return False


def write(folder: Path, verification: dict[str, Any]) -> Path:
    """Keep the verification in the original run's folder; the file written."""
    path = folder / file_name(verification["rerun"])
    head = {k: v for k, v in verification.items() if k != "differences"}
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    rows = ",\n".join(f"    {json.dumps(d, ensure_ascii=False)}" for d in verification["differences"])
    # like run.json: one line per difference, readable in a diff
    body = f"[\n{rows}\n  ]" if rows else "[]"
    write_atomic(path, "{\n" + "\n".join(lines) + f'\n  "differences": {body}\n}}\n')
    return path


def describe(entry: Mapping[str, Any]) -> list[str]:
    """One line per difference, as a person reads it: `main-0001 out/summary.json: max 0.1 → 0.2`."""
    head = f"{entry['task']} {entry['path']}" if entry.get("path") else str(entry["task"])
    return [f"{head}: {line}" for line in details(entry)]


def details(entry: Mapping[str, Any]) -> list[str]:
    """What differs in one entry, one line per field: `max 0.1 → 0.2`, `seconds differs (volatile)`."""
    status = entry["status"]
    if not entry.get("path"):
        return [f"{status} in the rerun ({entry.get('reason') or status})"]
    if status in ("missing", "new"):
        return ["not produced by the rerun" if status == "missing" else "produced only by the rerun"]
    fields = entry.get("fields") or []
    if not fields:
        return ["sha256 differs"]
    return [f"{f['field']} differs (volatile)" if f.get("volatile") else
            f"{f['field']} {_shown(f.get('before'))} → {_shown(f.get('after'))}" for f in fields]


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def latest(run: Run) -> dict[str, Any] | None:
    """The run's latest verification (by rerun id, which sorts by time), if one is readable and
    has the shape above (it came through a merge request like any file); else None."""
    for rel in reversed(run.listed(PREFIX, SUFFIX)):
        if "/" in rel:
            continue
        found = _json(run.folder / rel)
        if found and _well_formed(found[0]):
            return found[0]
    return None


def _well_formed(data: Any) -> bool:
    if not isinstance(data, dict) or data.get("result") not in RESULTS:
        return False
    diffs = data.get("differences")
    return (isinstance(data.get("rerun"), str) and isinstance(data.get("verified", ""), str)
            and isinstance(diffs, list)
            and all(isinstance(d, dict) and isinstance(d.get("task"), str)
                    and isinstance(d.get("status"), str) and isinstance(d.get("path", ""), str)
                    and isinstance(d.get("fields", []), list)
                    and all(isinstance(f, dict) and isinstance(f.get("field"), str)
                            for f in d.get("fields", []))
                    for d in diffs))
