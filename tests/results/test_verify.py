"""The comparison behind `mso rerun --verify`, on records and files made here."""

from __future__ import annotations

import json
from pathlib import Path

from runner.results import verify
from runner.results.records import run_of
from runner.state import RunRecord, State, TaskRecord

VOLATILE = {"out/*.json": ["elapsed", "runs.*.at"]}


def _side(root: Path, run_id: str, files: dict[str, dict[str, str]],
          failed: tuple[str, ...] = ()) -> tuple[Path, RunRecord]:
    """A run folder with each task's files (task -> path -> text) and its record."""
    folder = root / "e" / run_id
    tasks = []
    for task, outputs in files.items():
        for rel, text in outputs.items():
            (folder / task / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / task / rel).write_text(text)
        state = State.FAILED if task in failed else State.SUCCEEDED
        tasks.append(TaskRecord(task, "main", 0, {}, state=state, reason="exit code 1" if
                                task in failed else None,
                                outputs=[] if task in failed else
                                [{"path": rel, "size": len(text), "stored": "results",
                                  "sha256": str(hash(text))} for rel, text in outputs.items()]))
    record = RunRecord(run_id, "e", "h", {}, {}, tasks, git={"commit": "c0ffee"})
    record.state = record.derive_state()
    return folder, record


def test_fields_are_compared_and_volatile_ones_told_apart(tmp_path: Path) -> None:
    doc = {"value": 1.5, "elapsed": 3, "runs": [{"at": 1, "n": 2}], "gone": True}
    old = _side(tmp_path, "r1", {"t": {"out/a.json": json.dumps(doc), "x.bin": "same",
                                       "old.txt": "o"}})
    doc2 = {**doc, "value": 2.5, "elapsed": 4, "runs": [{"at": 9, "n": 3}], "new": [1]}
    del doc2["gone"]
    new = _side(tmp_path, "r2", {"t": {"out/a.json": json.dumps(doc2), "x.bin": "same",
                                       "extra.txt": "e"}})
    v = verify.compare(old, new, VOLATILE)
    assert (v["result"], v["compared"], v["identical"], v["volatile"]) == ("differs", 3, 1, 0)
    [changed, missing, extra] = v["differences"]
    assert [(f["field"], f["before"], f["after"], f["volatile"]) for f in changed["fields"]] == [
        ("value", 1.5, 2.5, False), ("elapsed", 3, 4, True), ("runs.0.at", 1, 9, True),
        ("runs.0.n", 2, 3, False), ("gone", True, "(absent)", False), ("new", "(absent)", [1], False)]
    assert (missing["path"], missing["status"], extra["path"], extra["status"]) == (
        "old.txt", "missing", "extra.txt", "new")
    assert verify.describe(changed)[:2] == ["t out/a.json: value 1.5 → 2.5",
                                            "t out/a.json: elapsed differs (volatile)"]


def test_only_volatile_differences_are_identical_and_a_failed_task_fails(tmp_path: Path) -> None:
    old = _side(tmp_path, "r1", {"t": {"out/a.json": '{"elapsed": 1, "v": 2}'},
                                 "u": {"b.txt": "b"}})
    new = _side(tmp_path, "r2", {"t": {"out/a.json": '{"elapsed": 5, "v": 2}'},
                                 "u": {"b.txt": "b"}})
    v = verify.compare(old, new, VOLATILE)
    assert (v["result"], v["identical"], v["volatile"]) == ("identical", 1, 1)
    broken = _side(tmp_path, "r3", {"t": {"out/a.json": '{"elapsed": 5, "v": 2}'},
                                    "u": {"b.txt": "b"}}, failed=("u",))
    v = verify.compare(old, broken, VOLATILE)
    assert v["result"] == "failed"
    assert verify.describe(v["differences"][-1]) == ["u: failed in the rerun (exit code 1)"]
    assert verify.compare(old, new, {})["result"] == "differs"   # nothing declared volatile


def test_volatile_fields_cover_what_is_under_them() -> None:
    assert verify.is_volatile("out/a.json", "elapsed.wall", VOLATILE)
    assert verify.is_volatile("out/a.json", "runs.7.at", VOLATILE)
    assert not verify.is_volatile("out/a.json", "runs.7.n", VOLATILE)
    assert not verify.is_volatile("a.json", "elapsed", VOLATILE)   # not an out/*.json
    assert not verify.is_volatile("out/a.json", "elapsed_total", VOLATILE)


def test_the_latest_well_formed_verification_is_read(tmp_path: Path) -> None:
    folder, record = _side(tmp_path, "r1", {"t": {"a.txt": "a"}})
    good = verify.compare((folder, record), (folder, record), {})
    good["rerun"] = "20250101T000000Z-00000000-00000001"
    verify.write(folder, good)
    assert json.loads((folder / verify.file_name(good["rerun"])).read_text()) == good
    for name, body in (("20250102T000000Z-00000000-00000002", '{"result": "identical"}'),
                       ("20250103T000000Z-00000000-00000003", "[1, 2]"),
                       ("20250104T000000Z-00000000-00000004", "{not json")):
        (folder / verify.file_name(name)).write_text(body)
    assert verify.latest(run_of(tmp_path, record)) == good
