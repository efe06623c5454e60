"""Run states, transitions and the run record on disk."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from runner import state
from runner.errors import StateError
from runner.declarations.schema import schema
from runner.state import RunRecord, State, TaskRecord


def _record(*states: str) -> RunRecord:
    tasks = [TaskRecord(f"main-{i:04d}", "main", i, {"x": i}, state=s) for i, s in enumerate(states)]
    return RunRecord("20261125T000000Z-0123abcd", "exp", "0" * 64, {"name": "a", "version": "1"},
                     {"name": "local", "kind": "local"}, tasks)


def test_terminal_states_never_move() -> None:
    t = TaskRecord("main-0000", "main", 0, {}, state="succeeded")
    assert not t.move(State.RUNNING) and t.state == "succeeded"
    assert not t.move(State.FAILED)


def test_allowed_moves_carry_a_reason() -> None:
    t = TaskRecord("main-0000", "main", 0, {})
    assert t.move(State.RUNNING) and t.move(State.FAILED, "exit code 3")
    assert (t.state, t.reason) == ("failed", "exit code 3")


@pytest.mark.parametrize("states,expected", [
    (("succeeded", "succeeded"), State.SUCCEEDED),
    (("succeeded", "failed"), State.FAILED),
    (("running", "pending"), State.RUNNING),
    (("queued", "succeeded"), State.RUNNING),
    (("pending", "pending"), State.PENDING),
    (("succeeded", "cancelled"), State.FAILED),
])
def test_run_state_is_derived_from_tasks(states, expected) -> None:
    assert _record(*states).derive_state() == expected


def test_cancelled_run_and_paused_run() -> None:
    rec = _record("cancelled", "succeeded")
    rec.cancelled_by = "ana"
    assert rec.derive_state() == State.CANCELLED
    rec = _record("running", "pending")
    rec.state = "paused"
    assert rec.derive_state() == State.PAUSED


def test_saved_record_is_valid_and_round_trips(tmp_path: Path) -> None:
    rec = _record("succeeded", "failed")
    state.save(rec, tmp_path)
    data = json.loads((tmp_path / "run.json").read_text())
    jsonschema.Draft202012Validator(schema("run")).validate(data)
    assert state.load(tmp_path / "run.json") == rec
    assert not list(tmp_path.glob(".run.json.*")), "temporary file left behind"


def test_corrupt_record_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text('{"run_id": ')
    with pytest.raises(StateError, match="unreadable run record"):
        state.load(tmp_path / "run.json")


RECORDED = Path(__file__).parent / "fixtures" / "records" / "main-eb8212a"


def test_a_record_written_by_main_before_the_enum_loads_and_writes_back_the_same(tmp_path: Path) -> None:
    """States are the Enum in memory; run.json keeps its strings, byte for byte."""
    rec = state.load(RECORDED / "run.json")
    assert rec.state is State.SUCCEEDED and all(t.state is State.SUCCEEDED for t in rec.tasks)
    assert rec.tasks[0].state.terminal and rec.derive_state() == State.SUCCEEDED
    before = (RECORDED / "run.json").read_text()
    updated = rec.updated
    state.save(rec, tmp_path)
    after = (tmp_path / "run.json").read_text()
    assert after.replace(f'"updated": "{rec.updated}"', f'"updated": "{updated}"') == before


def test_a_run_written_by_main_before_the_enum_can_be_resumed(example: Path, tmp_path: Path) -> None:
    """Its plan.json reads back into tasks and places, as `mso run` does when resuming."""
    import shutil
    from runner.declarations.repository import load_valid
    from runner.runs import resume
    from runner.schedulers.context import Context
    folder = example / "results" / "heat-sweep" / "20261130T122201Z-0a5ddbcc"
    shutil.copytree(RECORDED, folder)
    record = state.load(folder / "run.json")
    with Context() as ctx:
        run = resume.load(ctx, load_valid(example), folder, record)
    assert sorted(run.tasks) == [t.id for t in record.tasks] and run.finished
