"""VM-hours per openstack infrastructure on the usage page: each cloud server counted once by id
(a warm server reused by a later run is not counted twice), kept-warm time capped at the build's
clock, a server still up counted until it; per infrastructure and per month."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from runner.book.context import Context
from runner.book.pages import usage, usage_vm
from runner.declarations.models import Repository
from runner.results import records
from runner.results.records import Run
from runner.state import RunRecord, TaskRecord
from tests.book.sweep_records import write

NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.timezone.utc)   # when the book is built
A, B, C = "20261130T220000Z-aaaa0001", "20261201T003000Z-bbbb0002", "20261201T050000Z-cccc0003"


def _server(sid: str, infra: str, n: int, created: str, **end: str) -> dict[str, str]:
    return {"id": sid, "name": f"mso-{sid}", "infrastructure": infra, "place": f"{infra}.{n}",
            "created": f"{created}Z", "ready": f"{created}Z", **{k: f"{v}Z" for k, v in end.items()}}


def _record(run_id: str, infra: str, state: str, servers: list[dict[str, str]]) -> RunRecord:
    task = TaskRecord(id="main-0000", step="main", index=0, parameters={}, state=state)
    return RunRecord(run_id=run_id, experiment="sim", spec_hash="ab" * 32,
                     application={"name": "sim", "version": "1", "image": None},
                     infrastructure={"name": infra, "kind": "openstack", "host": None},
                     tasks=[task], state=state, servers=servers)


def _records() -> list[RunRecord]:
    """A makes s1 (deleted) and s2 (kept warm); B takes s2 warm, keeps it past the build time and
    makes s4 (deleted); C, still running on another cloud, has s3 up."""
    return [
        _record(A, "cloud", "succeeded", [
            _server("s1", "cloud", 1, "2026-11-30T22:00:00", deleted="2026-11-30T23:30:00"),
            _server("s2", "cloud", 2, "2026-11-30T22:00:00", kept_until="2026-12-01T01:00:00")]),
        _record(B, "cloud", "succeeded", [
            {**_server("s2", "cloud", 1, "2026-12-01T00:30:00", kept_until="2026-12-01T09:30:00"),
             "warm_from": A},
            _server("s4", "cloud", 2, "2026-12-01T00:30:00", deleted="2026-12-01T02:00:00")]),
        _record(C, "lab", "running", [_server("s3", "lab", 1, "2026-12-01T05:00:00")]),
    ]


def _runs(recs: list[RunRecord]) -> list[Run]:
    return [Run(Path("/nonexistent") / r.experiment / r.run_id, r) for r in recs]


def test_servers_are_counted_once_by_id_capped_at_the_build_time() -> None:
    found = usage_vm.servers(_runs(_records()), NOW)
    hours = {s.id: s.seconds / 3600 for s in found}
    # s2: from A's created (22:00) to B's kept_until capped at 06:00, once: not 3 h + 5.5 h
    assert hours == {"s1": 1.5, "s2": 8.0, "s4": 1.5, "s3": 1.0}
    assert {s.id for s in found if s.until_now} == {"s2", "s3"}
    assert [r.run_id for r in next(s for s in found if s.id == "s2").runs] == [A, B]
    infra = usage_vm.tally(found, usage_vm.by_infrastructure)
    assert {k: (t.servers, len(t.runs), t.hours) for k, t in infra.items()} == {
        "cloud": (3, 2, 11.0), "lab": (1, 1, 1.0)}
    months = usage_vm.tally(found, usage_vm.by_month)
    assert {k: t.hours for k, t in months.items()} == {"2026-11": 9.5, "2026-12": 2.5}


def test_a_warm_server_deleted_early_ends_where_its_last_run_deleted_it() -> None:
    recs = [_record(A, "cloud", "succeeded", [
                _server("s2", "cloud", 1, "2026-11-30T22:00:00", kept_until="2026-12-01T04:00:00")]),
            _record(B, "cloud", "failed", [
                {**_server("s2", "cloud", 1, "2026-12-01T00:30:00", deleted="2026-12-01T01:00:00"),
                 "warm_from": A}])]
    [s2] = usage_vm.servers(_runs(recs), NOW)
    assert (s2.seconds, s2.until_now) == (3 * 3600, False)


def _table(text: str, section: str) -> dict[str, list[str]]:
    """The first table of a `## section`: first cell -> the row's cells."""
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    first = next(p for p in body.strip().split("\n\n") if p.startswith("|"))
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in first.splitlines()]
    return {r[0]: r for r in [rows[0], *rows[2:]]}


def test_usage_page_shows_vm_hours_from_the_records_in_results(tmp_path: Path) -> None:
    for rec in _records():
        write(tmp_path, rec)
    runs, warnings = records.load(tmp_path / "results")
    assert not warnings and len(runs["sim"]) == 3
    text = usage.page(Context(Repository(str(tmp_path)), runs), now=NOW).text()
    vm = _table(text, "VM-hours")
    assert vm["Infrastructure"] == ["Infrastructure", "Servers", "Runs", "VM-hours"]
    assert vm["cloud"][1:] == ["3", "2", "11.00"] and vm["lab"][1:] == ["1", "1", "1.00"]
    assert "count until this page was built (2026-12-01 06:00 UTC)" in text
    months = _table(text, "By month")
    assert months["Month (UTC)"][-1] == "VM-hours"
    assert (months["2026-11"][-1], months["2026-12"][-1]) == ("9.50", "2.50")


def test_no_vm_hours_without_cloud_servers(tmp_path: Path) -> None:
    rec = _record(A, "cloud", "succeeded", [])
    rec.infrastructure = {"name": "local", "kind": "local", "host": None}
    write(tmp_path, rec)
    runs, _ = records.load(tmp_path / "results")
    text = usage.page(Context(Repository(str(tmp_path)), runs), now=NOW).text()
    assert "VM-hours" not in text and not re.search(r"\bservers\b", text)
    done = [_record(A, "cloud", "succeeded", [
        _server("s1", "cloud", 1, "2026-11-30T22:00:00", deleted="2026-11-30T23:30:00")])]
    page = usage.page(Context(Repository(str(tmp_path)), {"sim": _runs(done)}), now=NOW).text()
    assert _table(page, "VM-hours")["cloud"][1:] == ["1", "1", "1.50"]
    assert "until this page was built" not in page   # nothing counted up to the clock
