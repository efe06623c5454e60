"""Digest pinning in what a run leaves: run.json's `images` (schema-valid, read back by the book's
loader), the book's run page and the merge-request note; a record written before images existed
still loads and is written back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from runner import state
from runner.book.pages import runs as run_pages
from runner.declarations.schema import schema
from runner.publish import report
from runner.publish.report import Links
from runner.results import records
from runner.state import RunRecord, TaskRecord

RUN_ID = "20261130T120000Z-0a5ddbcc-1234abcd"
DIGEST = "sha256:" + "9f" * 32
IMAGE = {"application": "heat", "infrastructure": "cluster", "runtime": "charliecloud",
         "reference": "registry.example.org/lab/heat:1.2.0-0123456789ab", "digest": DIGEST,
         "path": "/scratch/mso/.images/" + "9f" * 32, "pulled": True}
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "records" / "main-eb8212a"


def record() -> RunRecord:
    rec = RunRecord(RUN_ID, "heat-sweep", "ab" * 32, {"name": "heat", "version": "1.2.0"},
                    {"name": "cluster", "kind": "slurm", "host": "login"},
                    [TaskRecord("main-0000", "main", 0, {"nu": 0.1}, state="succeeded")],
                    images=[IMAGE])
    rec.state = rec.derive_state()
    return rec


def test_images_are_in_run_json_valid_and_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "results" / "heat-sweep" / RUN_ID
    state.save(record(), folder)
    data = json.loads((folder / "run.json").read_text())
    jsonschema.Draft202012Validator(schema("run")).validate(data)
    assert data["images"] == [IMAGE]
    assert state.load(folder / "run.json").images == [IMAGE]
    runs, warnings = records.load(tmp_path / "results")
    assert warnings == [] and runs["heat-sweep"][0].record.images == [IMAGE]


def test_a_record_from_before_images_loads_and_is_written_back_without_them(tmp_path: Path) -> None:
    rec = state.load(FIXTURE / "run.json")
    assert rec.images == []
    state.save(rec, tmp_path)
    assert '"images"' not in (tmp_path / "run.json").read_text()


def test_the_run_page_shows_each_digest() -> None:
    cell = run_pages._images([IMAGE, {**IMAGE, "infrastructure": "login", "pulled": False}])
    # the reference whole, the digest shortened with the whole of it on hover (md.short)
    ref = "<code>registry.example.org/lab/heat:1.2.0-0123456789ab</code>"
    digest = f'<code title="{DIGEST}">{DIGEST[:19]}…</code>'
    assert cell == (f"{ref}@{digest} on cluster (charliecloud, pulled)<br>"
                    f"{ref}@{digest} on login (charliecloud, cached)")


def test_the_merge_request_note_lists_the_pinned_images(tmp_path: Path) -> None:
    rec = record()
    row = report.row(records.run_of(tmp_path, rec), "")
    assert row.images == (f"registry.example.org/lab/heat:1.2.0-0123456789ab@{DIGEST}",)
    body = report.note([row], report.marker("7"), Links(), ("7", None))
    assert "**Images** (pinned by digest)" in body
    assert (f"- heat-sweep {RUN_ID}: <code>registry.example.org/lab/heat:1.2.0-0123456789ab@"
            f"{DIGEST}</code>") in body.splitlines()
    plain = report.note([report.row(records.run_of(tmp_path, RunRecord(
        RUN_ID, "x", "ab" * 32, {"name": "x", "version": "1"}, {"name": "local", "kind": "local"},
        [])), "")], report.marker("7"), Links(), ("7", None))
    assert "Images" not in plain
