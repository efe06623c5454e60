"""Where a run's steps with candidate infrastructures went, in the merge-request note: a line per
placement decision under the runs' table, escaped for GitLab's Markdown."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt

from runner.publish import report
from runner.publish.report import Links
from runner.results.records import run_of
from runner.state import RunRecord, TaskRecord

RUN_ID = "20261202T080000Z-0000000d"
DECISION = {
    "steps": ["main"], "candidates": ["cluster", "cloud"], "mode": "auto", "chosen": "cluster",
    "predicted_at": "2026-12-02T08:00:00Z",
    "predictions": {"cluster": {"wait": 820.0, "boot": 0.0, "transfer": 0.0, "run": 360.0,
                                "total": 1180.0, "why": {}}},
    "unpredicted": {"cloud": "quota | <b>exceeded</b>"}}


def _record(placement: list[dict]) -> RunRecord:
    done = TaskRecord("main-0000", "main", 0, {}, state="succeeded",
                      submitted="2026-12-02T08:00:00Z", started="2026-12-02T08:13:00Z",
                      ended="2026-12-02T08:19:00Z")
    return RunRecord(RUN_ID, "heat", "ab" * 32, {"name": "heat", "version": "1"},
                     {"name": "cluster", "kind": "slurm"}, [done], state="succeeded",
                     placement=placement)


def test_each_placement_gets_its_line_in_the_note(tmp_path: Path) -> None:
    first = {**DECISION, "steps": ["post"], "mode": "first", "predictions": {}, "unpredicted": {}}
    row = report.row(run_of(tmp_path, _record([DECISION, first])), "")
    assert row.placement == (
        "cluster: wait ~14 min + run 6 min; cloud: not predicted (quota | <b>exceeded</b>) "
        "→ cluster", "cluster, cloud → cluster (placement: first)")
    body = report.note([row], report.marker("9"), Links(), ("9", None))
    said = [ln for ln in body.splitlines() if ln.startswith(f"- heat {RUN_ID}: ")]
    assert said == [
        f"- heat {RUN_ID}: cluster: wait \\~14 min + run 6 min; cloud: not predicted "
        r"(quota \| &lt;b&gt;exceeded&lt;/b&gt;) → cluster",
        f"- heat {RUN_ID}: cluster, cloud → cluster (placement: first)"]
    assert "**Placement**" in body


def test_the_line_reads_as_written_in_commonmark() -> None:
    row = report.row(run_of(Path("/nonexistent"), _record([DECISION])), "")
    html = MarkdownIt("commonmark").render(report.note([row], "", Links(), ("9", None)))
    assert ("<li>heat 20261202T080000Z-0000000d: cluster: wait ~14 min + run 6 min; cloud: not "
            "predicted (quota | &lt;b&gt;exceeded&lt;/b&gt;) → cluster</li>") in html
    assert "<b>" not in html


def test_a_run_without_placement_has_no_such_lines(tmp_path: Path) -> None:
    row = report.row(run_of(tmp_path, _record([])), "")
    assert row.placement == ()
    assert "Placement" not in report.note([row], report.marker("9"), Links(), ("9", None))
