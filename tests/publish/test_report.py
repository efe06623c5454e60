"""What is reported about runs (note rows, Markdown, statuses, JUnit), and `mso report` end to end
on real runs against the GitLab stand-in."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runner import junit
from runner.publish import report
from runner.publish.report import Links, Row
from runner.results.records import run_of
from runner.state import RunRecord, TaskRecord
from tests.conftest import counter_experiment, mso
from tests.publish.gitlab_standin import CI_VARS, NOTE, NOTES, STATUSES, GitLabStandIn

CANARY = "canary-5f3a9c0d7e1b-never-print-me"
RUN_ID = "20260101T000000Z-0000000a"


def _row(**kw) -> Row:
    base = dict(experiment="heat", run_id=RUN_ID, target="cluster (slurm)", state="failed", ok=1,
                failed=1, total=2, wall_seconds=75.0, error="")
    return Row(**{**base, **kw})


def _record(states: list[str], **kw) -> RunRecord:
    tasks = [TaskRecord(f"main-{i:04d}", "main", i, {}, state=s, stdout=f"main-{i:04d}/stdout.txt",
                        stderr=f"main-{i:04d}/stderr.txt", **kw) for i, s in enumerate(states)]
    rec = RunRecord(RUN_ID, "heat", "ab" * 32, {"name": "heat", "version": "1"},
                    {"name": "local", "kind": "local"}, tasks)
    rec.state = rec.derive_state().value
    return rec


def _files(results: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = results / "heat" / RUN_ID / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_note_cells_are_escaped_and_stay_one_line() -> None:
    rows = [_row(error="main-0001: a | b\nnext <b>bold</b> [x](javascript:alert(1))")]
    body = report.note(rows, report.marker("555"), Links(), ("555", None),
                       ["dry run only: no HPC credentials | fork\nsecond line"])
    lines = body.splitlines()
    assert lines[0] == "<!-- mso:pipeline:555 -->"
    [line] = [ln for ln in lines if ln.startswith("| heat")]
    assert line.count(" | ") == 6, "seven cells: the `|` in the text is escaped"
    assert r"a \| b next &lt;b&gt;bold&lt;/b&gt; \[x\](javascript:alert(1))" in line
    assert "| heat | 20260101T000000Z-0000000a | cluster (slurm) | ❌ failed | 1 / 1 / 2 " \
           "| 1 min 15 s |" in line, "no book URL: plain text, no links"
    assert r"- dry run only: no HPC credentials \| fork second line" in lines
    assert "### mso: runs of pipeline \\#555" in body


def test_links_follow_the_published_book() -> None:
    links = Links("https://lab.example.org/book")
    assert links.url("experiments/heat.md") == "https://lab.example.org/book/experiments/heat/"
    assert links.url(f"runs/heat/{RUN_ID}/index.md") == \
        f"https://lab.example.org/book/runs/heat/{RUN_ID}/"
    flat = Links("https://lab.example.org/book/", directory_urls=False)
    assert flat.url("experiments/heat.md") == "https://lab.example.org/book/experiments/heat.html"
    assert Links("javascript:alert(1)").url("experiments/heat.md") is None
    body = report.note([_row()], report.marker("1"), links, ("1", "https://gl/p/1"))
    assert "[heat](https://lab.example.org/book/experiments/heat/)" in body
    assert f"[{RUN_ID}](https://lab.example.org/book/runs/heat/{RUN_ID}/)" in body
    hostile = report.note([_row()], report.marker("1-->"), links, ("1", "javascript:alert(1)"))
    assert hostile.startswith("<!-- mso:pipeline:1-- -->") and "javascript" not in hostile


def test_first_error_prefers_the_log_then_stderr_then_the_reason(tmp_path: Path) -> None:
    results = tmp_path / "results"
    rec = _record(["succeeded", "failed"], reason="exit code 3")
    assert report.first_error(run_of(results, rec)) == "main-0001: exit code 3"
    _files(results, {"main-0001/stderr.txt": "Traceback\n  File x\nValueError: nu < 0\n\n"})
    assert report.first_error(run_of(results, rec)) == "main-0001: ValueError: nu < 0"
    _files(results, {"main-0001/heat.log": "step 1\nerror: diverged\nerror: again\n",
                     "main-0001/heat.log.jsonl": "\n".join(json.dumps(e) for e in [
                         {"line": 1, "severity": "INFO", "text": "step 1"},
                         {"line": 2, "severity": "ERROR", "text": "error: diverged"},
                         {"line": 3, "severity": "ERROR", "text": "error: again"}])})
    assert report.first_error(run_of(results, rec)) == "main-0001: error: diverged"
    assert report.first_error(run_of(results, _record(["succeeded"]))) == ""


@pytest.mark.parametrize("states, expected", [
    (["pending"], "pending"), (["queued"], "running"), (["running", "pending"], "running"),
    (["succeeded"], "success"), (["succeeded", "failed"], "failed")])
def test_commit_status_states(states: list[str], expected: str) -> None:
    assert report.status(_record(states)) == expected


def test_cancelled_and_paused_runs() -> None:
    rec = _record(["cancelled"])
    rec.cancelled_by = "ana"
    rec.state = rec.derive_state().value
    assert report.status(rec) == "canceled"
    rec.state = "paused"
    assert report.status(rec) == "running"


def test_junit_cases_fail_skip_and_time_tasks(tmp_path: Path) -> None:
    results = tmp_path / "results"
    rec = _record(["succeeded", "failed", "cancelled", "running"])
    rec.tasks[0].started, rec.tasks[0].ended = "2026-01-01T00:00:00Z", "2026-01-01T00:01:05Z"
    rec.tasks[1].reason, rec.tasks[2].reason = "exit code 2", "cancelled by ana"
    _files(results, {"main-0001/stderr.txt": "".join(f"line {i}\n" for i in range(40)) + "\x1b\x00"})
    cases = report.junit_cases(run_of(results, rec))
    path = tmp_path / "runs.xml"
    junit.write(path, "mso runs", cases)
    suite = ET.parse(path).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "2")
    found = {c.get("name"): c for c in suite.iter("testcase")}
    assert {c.get("classname") for c in found.values()} == {f"heat.{RUN_ID}"}
    assert found["main-0000"].get("time") == "65.000" and len(found["main-0000"]) == 0
    failure = found["main-0001"].find("failure")
    assert failure.get("message") == "line 39"
    assert "line 21\n" in failure.text and "line 20\n" not in failure.text, "the last 20 lines"
    assert "exit code 2" in failure.text
    assert found["main-0002"].find("skipped").get("message") == "cancelled: cancelled by ana"
    assert found["main-0003"].find("skipped").get("message") == "not finished (running)"


@pytest.fixture
def ran(counter: Path) -> Path:
    """The example repository with a real run of heat-sweep and of a counter sweep that fails."""
    counter_experiment(counter, "flaky", ["a"])
    exp = counter / "experiments" / "flaky.yaml"
    exp.write_text(exp.read_text().replace("matrix: {label: [a]}", "matrix: {label: [a], code: [0, 3]}"))
    assert mso("run", "heat-sweep", repo=counter).returncode == 0
    assert mso("run", "flaky", repo=counter).returncode == 2
    return counter


def _pipeline(monkeypatch: pytest.MonkeyPatch, standin: GitLabStandIn, **extra: str) -> None:
    for name in CI_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in standin.env(**extra).items():
        monkeypatch.setenv(name, value)


def test_mso_report_end_to_end(ran: Path, tmp_path: Path, monkeypatch) -> None:
    with GitLabStandIn(CANARY) as standin:
        _pipeline(monkeypatch, standin, MSO_GITLAB_TOKEN=CANARY,
                  CI_PAGES_URL="https://group.gitlab.io/lab")
        xml = tmp_path / "runs.xml"
        first = mso("report", "--junit", str(xml), "--remark", "dry run only: cluster (no "
                    "HPC credentials)", "--json", repo=ran)
        assert first.returncode == 0, first.stderr
        done = json.loads(first.stdout)
        assert done["gitlab"]["note"] == "created" and done["gitlab"]["warnings"] == []
        assert done["gitlab"]["statuses"] == {"mso/flaky": "failed", "mso/heat-sweep": "success"}
        assert [r["experiment"] for r in done["runs"]] == ["flaky", "heat-sweep"]
        [note] = standin.notes[7]
        heat = next(ln for ln in note["body"].splitlines() if ln.startswith("| [heat-sweep]"))
        assert "| local | ✅ succeeded | 6 / 0 / 6 |" in heat
        assert "(https://group.gitlab.io/lab/runs/heat-sweep/" in heat
        flaky = next(ln for ln in note["body"].splitlines() if ln.startswith("| [flaky]"))
        assert "❌ failed | 1 / 1 / 2 |" in flaky and "main-0001: exit code 3" in flaky
        assert "- dry run only: cluster (no HPC credentials)" in note["body"]
        suite = ET.parse(xml).getroot().find("testsuite")
        assert (suite.get("tests"), suite.get("failures")) == ("8", "1")

        again = mso("report", "heat-sweep", "flaky", repo=ran)
        assert again.returncode == 0, again.stderr
        assert "gitlab: note updated" in again.stdout
        assert len(standin.notes[7]) == 1 and len(standin.calls("POST", NOTES)) == 1
        assert [r.path.rsplit("/", 1)[1] for r in standin.calls("PUT", NOTE)] == ["1001"]
        assert len(standin.calls("POST", STATUSES)) == 4
        seen = "".join([first.stdout, first.stderr, again.stdout, again.stderr, xml.read_text(),
                        *(f"{r.path}{r.query}{r.headers}{r.body}" for r in standin.requests)])
        assert CANARY not in seen


def test_mso_report_without_a_token_still_writes_junit(ran: Path, tmp_path: Path,
                                                       monkeypatch) -> None:
    with GitLabStandIn(CANARY) as standin:
        _pipeline(monkeypatch, standin)
        xml = tmp_path / "runs.xml"
        done = mso("report", "--junit", str(xml), repo=ran)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ("mso: gitlab: MSO_GITLAB_TOKEN is not set; no merge-request note "
                               "or commit statuses\n")
        assert standin.requests == [] and ET.parse(xml).getroot().get("tests") == "8"


def test_mso_report_with_a_wrong_token_warns_once_and_exits_0(ran: Path, monkeypatch) -> None:
    with GitLabStandIn(CANARY) as standin:
        _pipeline(monkeypatch, standin, LAB_TOKEN="glpat-wrong")
        done = mso("report", "--token-env", "LAB_TOKEN", repo=ran)
        assert done.returncode == 0
        [line] = done.stderr.splitlines()
        assert "HTTP 401" in line and "LAB_TOKEN" in line and "glpat-wrong" not in line
        assert "Traceback" not in done.stderr


def test_mso_report_refuses_bad_input(ran: Path) -> None:
    unknown = mso("report", "heat-swep", repo=ran)
    assert unknown.returncode == 1
    assert "no runs of 'heat-swep' in results/ (did you mean 'heat-sweep'?)" in unknown.stderr
    bad = mso("report", "--token-env", "NOT-A-NAME", repo=ran)
    assert bad.returncode == 1 and "not an environment variable name" in bad.stderr


def test_tasks_a_site_limit_holds_back_are_told_in_the_note() -> None:
    why = "waiting for room under the site's limit on queued jobs (AssocMaxSubmitJobLimit)"
    record = _record(["queued", "pending", "pending", "pending"])
    for t in record.tasks[1:]:
        t.reason = why
    line = report.waiting_line(record.tasks)
    assert line == f"3 tasks: {why}"
    body = report.note([_row(waiting=line)], report.marker("1"), Links(), ("1", None))
    assert "**Waiting**" in body and f"- heat {RUN_ID}: 3 tasks: {why}" in body
    assert "**Waiting**" not in report.note([_row()], report.marker("1"), Links(), ("1", None))
