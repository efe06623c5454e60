"""run.json's resource fields (requested, usage, triggered_by): a record written before them
reads and writes back byte for byte; one with them keeps them and matches the schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from runner import state
from runner.declarations.schema import schema

RECORDED = Path(__file__).parent / "fixtures" / "records" / "main-eb8212a" / "run.json"


def test_a_record_from_before_the_resource_fields_writes_back_byte_for_byte(tmp_path: Path) -> None:
    before = RECORDED.read_text()
    assert '"requested"' not in before and '"triggered_by"' not in before
    rec = state.load(RECORDED)
    assert rec.triggered_by is None and all(t.requested is None and t.usage is None for t in rec.tasks)
    updated = rec.updated
    state.save(rec, tmp_path)
    after = (tmp_path / "run.json").read_text()
    assert after.replace(f'"updated": "{rec.updated}"', f'"updated": "{updated}"') == before


def test_resource_fields_are_kept_and_valid(tmp_path: Path) -> None:
    rec = state.load(RECORDED)
    rec.triggered_by = "ana"
    rec.tasks[0].requested = {"cpus": 4, "memory_mb": 2048, "walltime_s": 1800}
    rec.tasks[0].usage = {"elapsed_s": 31, "cpu_s": 3.0, "queue_wait_s": 4, "source": "sacct"}
    state.save(rec, tmp_path)
    data = json.loads((tmp_path / "run.json").read_text())
    jsonschema.Draft202012Validator(schema("run")).validate(data)
    again = state.load(tmp_path / "run.json")
    assert again.triggered_by == "ana" and again.tasks[0].usage == rec.tasks[0].usage
    assert again.tasks[0].requested == rec.tasks[0].requested
