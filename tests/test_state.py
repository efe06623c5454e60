"""Run states, transitions and the run record on disk."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from runner import state
from runner.errors import StateError
from runner.spec.schema import schema
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
