"""The merge-request note and commit statuses, sent through python-gitlab to a stand-in server
that follows GitLab's public REST API docs (tests/publish/gitlab_standin.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runner.publish.gitlab import GitLab, GitLabError, base_url
from runner.publish.notify import Notifier
from runner.state import RunRecord, TaskRecord
from tests.publish.gitlab_standin import CI_VARS, NOTE, NOTES, STATUSES, GitLabStandIn

CANARY = "canary-5f3a9c0d7e1b-never-print-me"


def record(experiment: str, states: list[str], run_id: str = "20260101T000000Z-0000000a",
           reason: str | None = None) -> RunRecord:
    """A run record in memory whose tasks are in the given states."""
    tasks = [TaskRecord(f"main-{i:04d}", "main", i, {"i": i}, state=s, reason=reason)
             for i, s in enumerate(states)]
    rec = RunRecord(run_id, experiment, "ab" * 32, {"name": "app", "version": "1"},
                    {"name": "cluster", "kind": "slurm"}, tasks)
    rec.state = rec.derive_state().value
    return rec


def move(rec: RunRecord, states: list[str]) -> RunRecord:
    for task, state in zip(rec.tasks, states):
        task.state = state
    rec.state = rec.derive_state().value
    return rec


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No GitLab variables from the machine running the tests."""
    for name in CI_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def standin(clean_env: pytest.MonkeyPatch):
    """A running stand-in, and the environment of a merge-request pipeline pointing at it."""
    with GitLabStandIn(CANARY) as server:
        for name, value in server.env(MSO_GITLAB_TOKEN=CANARY).items():
            clean_env.setenv(name, value)
        yield server


def notifier(tmp_path: Path, said: list[str], token_env: str | None = None) -> Notifier:
    return Notifier.from_env(tmp_path, said.append, token_env)


def test_note_is_created_once_then_updated_in_place_only_on_change(standin, tmp_path) -> None:
    said: list[str] = []
    n = notifier(tmp_path, said)
    rec = record("heat", ["pending", "pending"])
    assert n.update([rec]).note == "created"
    assert [(r.method, r.path) for r in standin.requests][:2] == [
        ("GET", "/api/v4/projects/42/merge_requests/7/notes"),
        ("POST", "/api/v4/projects/42/merge_requests/7/notes")]
    before = len(standin.requests)
    assert n.update([rec]).note == "unchanged"
    assert n.update([rec]).note == "unchanged"
    assert len(standin.requests) == before, "nothing changed, nothing sent"
    assert n.update([move(rec, ["running", "queued"])]).note == "updated"
    assert n.update([move(rec, ["succeeded", "running"])]).note == "updated"
    assert n.update([move(rec, ["succeeded", "succeeded"])]).note == "updated"
    assert n.update([rec]).note == "unchanged"
    notes = standin.calls(kind=NOTES)
    assert [r.method for r in notes] == ["GET", "POST"], "listed once, created once"
    puts = standin.calls("PUT", NOTE)
    assert len(puts) == 3 and {r.path for r in puts} == {
        "/api/v4/projects/42/merge_requests/7/notes/1001"}
    [note] = standin.notes[7]
    assert note["id"] == 1001 and note["body"].startswith("<!-- mso:pipeline:555 -->")
    assert "| ✅ succeeded | 2 / 0 / 2 |" in note["body"]
    assert "[pipeline \\#555](https://gitlab.example/p/-/pipelines/555)" in note["body"]
    assert said == []


def test_a_later_job_finds_its_note_by_the_marker_among_many(standin, tmp_path) -> None:
    first = notifier(tmp_path, [])
    first.update([record("heat", ["running"])])
    for i in range(30):   # people talk after it: the note is on the second page now
        standin.notes[7].append({**standin.notes[7][0], "id": 2000 + i, "body": f"comment {i}"})
    standin.notes[7].append({**standin.notes[7][0], "id": 3000,
                             "body": "<!-- mso:pipeline:554 --> an older pipeline's note"})
    later = notifier(tmp_path, [])
    assert later.update([record("heat", ["succeeded"])]).note == "updated"
    gets = standin.calls("GET", NOTES)
    assert len(gets) == 3 and "page=2" in gets[-1].query
    assert [r.path for r in standin.calls("PUT")] == [
        "/api/v4/projects/42/merge_requests/7/notes/1001"]
    assert len(standin.calls("POST", NOTES)) == 1
    assert "an older pipeline" in next(n for n in standin.notes[7] if n["id"] == 3000)["body"]


def test_a_deleted_note_is_written_again(standin, tmp_path) -> None:
    n = notifier(tmp_path, [])
    n.update([record("heat", ["running"])])
    standin.notes[7].clear()
    assert n.update([record("heat", ["succeeded"])]).note == "created"
    assert len(standin.notes[7]) == 1


def test_statuses_move_pending_running_then_success_or_failed(standin, tmp_path) -> None:
    n = notifier(tmp_path, [])
    heat, noisy = record("heat", ["pending", "pending"]), record("noisy", ["pending"])
    steps = [(["pending", "pending"], ["pending"]), (["running", "queued"], ["running"]),
             (["running", "running"], ["running"]), (["succeeded", "running"], ["running"]),
             (["succeeded", "succeeded"], ["failed"]), (["succeeded", "succeeded"], ["failed"])]
    sent = [n.update([move(heat, a), move(noisy, b)]).statuses for a, b in steps]
    assert sent == [{"mso/heat": "pending", "mso/noisy": "pending"},
                    {"mso/heat": "running", "mso/noisy": "running"}, {}, {},
                    {"mso/heat": "success", "mso/noisy": "failed"}, {}]
    assert standin.status_history("mso/heat") == ["pending", "running", "success"]
    assert standin.status_history("mso/noisy") == ["pending", "running", "failed"]
    posts = standin.calls("POST", STATUSES)
    assert len(posts) == 6, "only when a state changed"
    last = posts[-1].json()
    assert last["name"] == "mso/noisy" and last["ref"] == "feature"
    assert last["description"].startswith("failed: 0/1 tasks succeeded, 1 failed")
    assert "target_url" not in last, "no book URL known: no link"


def test_cancelled_is_canceled_and_links_go_to_the_book(standin, tmp_path, clean_env) -> None:
    clean_env.setenv("CI_PAGES_URL", "https://group.gitlab.io/lab")
    clean_env.setenv("MSO_BOOK_URL", "https://lab.example.org/book/")   # wins over Pages
    rec = record("heat", ["cancelled", "succeeded"])
    rec.cancelled_by = "ana"
    rec.state = rec.derive_state().value
    notifier(tmp_path, []).update([rec])
    [post] = standin.calls("POST", STATUSES)
    assert post.json()["state"] == "canceled"
    assert post.json()["target_url"] == "https://lab.example.org/book/experiments/heat.html"
    body = standin.notes[7][0]["body"]
    assert ("[20260101T000000Z-0000000a](https://lab.example.org/book/runs/heat/"
            "20260101T000000Z-0000000a/index.html)") in body


def test_reposting_the_same_state_is_harmless(standin, tmp_path) -> None:
    said: list[str] = []
    notifier(tmp_path, said).update([record("heat", ["running"])])
    again = notifier(tmp_path, said)   # a second job of the pipeline knows nothing was sent
    assert again.update([record("heat", ["running"])]).statuses == {"mso/heat": "running"}
    assert said == [] and again.warnings == []
    client = GitLab(standin.api_url, "42", CANARY)
    assert client.set_status("0123456789abcdef0123456789abcdef01234567", "mso/heat",
                             "running", ref="feature") == "unchanged"


def test_a_wrong_token_gives_one_warning_and_nothing_more(standin, tmp_path, clean_env) -> None:
    clean_env.setenv("MSO_GITLAB_TOKEN", "glpat-wrong")
    said: list[str] = []
    n = notifier(tmp_path, said)
    rec = record("heat", ["running"])
    out = n.update([rec])
    assert out.note == "failed" and out.statuses == {}
    assert len(said) == 1 and "HTTP 401" in said[0] and "MSO_GITLAB_TOKEN" in said[0]
    assert "Traceback" not in said[0] and "glpat-wrong" not in said[0]
    count = len(standin.requests)
    n.update([move(rec, ["succeeded"])])
    assert len(standin.requests) == count and len(said) == 1


def test_a_token_without_api_scope_says_what_to_check(standin, tmp_path) -> None:
    standin.forbidden = True
    said: list[str] = []
    notifier(tmp_path, said).update([record("heat", ["running"])])
    assert len(said) == 1 and "HTTP 403" in said[0] and "`api` scope" in said[0]
    assert "project 42" in said[0]


def test_a_missing_merge_request_stops_notes_not_statuses(standin, tmp_path) -> None:
    standin.merge_requests.clear()
    said: list[str] = []
    n = notifier(tmp_path, said)
    out = n.update([record("heat", ["running"])])
    assert out.note == "failed" and out.statuses == {"mso/heat": "running"}
    assert len(said) == 1 and "HTTP 404" in said[0] and "merge request !7" in said[0]
    n.update([record("heat", ["succeeded"])])
    assert len(standin.calls(kind=NOTES)) == 1 and len(said) == 1
    assert standin.status_history("mso/heat") == ["running", "success"]


def test_transient_errors_are_retried_then_warned_once_and_tried_later(standin, tmp_path) -> None:
    said: list[str] = []
    n = notifier(tmp_path, said)
    standin.failures[:] = [502, 503]          # retried by python-gitlab: nobody notices
    assert n.update([record("heat", ["running"])]).note == "created" and said == []
    standin.failures[:] = [503] * 8           # more than the retries of the note
    rec = record("heat", ["succeeded"])
    out = n.update([rec])
    assert out.note == "failed" and len(said) == 1 and "HTTP 503" in said[0]
    assert "tried again" in said[0]
    standin.failures.clear()
    assert n.update([rec]).note == "updated", "the next update sends what was missed"
    assert standin.status_history("mso/heat")[-1] == "success"


def test_an_unreachable_gitlab_costs_one_line(standin, tmp_path, clean_env) -> None:
    clean_env.setenv("CI_API_V4_URL", "http://127.0.0.1:9/api/v4")
    said: list[str] = []
    out = notifier(tmp_path, said).update([record("heat", ["running"])])
    assert out.note == "failed"
    assert len(said) == 1 and "GitLab not reached" in said[0] and "CI_API_V4_URL" in said[0]


def test_without_a_token_one_line_and_no_request(standin, tmp_path, clean_env) -> None:
    clean_env.delenv("MSO_GITLAB_TOKEN")
    said: list[str] = []
    n = notifier(tmp_path, said)
    for states in (["pending"], ["running"], ["failed"]):
        assert n.update([record("heat", states)]).note == "skipped"
    assert said == ["gitlab: MSO_GITLAB_TOKEN is not set; no merge-request note or commit "
                    "statuses"]
    assert standin.requests == []


def test_outside_a_pipeline_one_line_and_no_request(standin, tmp_path, clean_env) -> None:
    clean_env.delenv("CI_API_V4_URL")
    said: list[str] = []
    notifier(tmp_path, said).update([record("heat", ["running"])])
    assert said == ["gitlab: not in a GitLab pipeline (CI_API_V4_URL not set); "
                    "no merge-request note or commit statuses"]
    assert standin.requests == []


def test_a_branch_pipeline_gets_statuses_only(standin, tmp_path, clean_env) -> None:
    clean_env.delenv("CI_MERGE_REQUEST_IID")
    said: list[str] = []
    notifier(tmp_path, said).update([record("heat", ["running"])])
    assert len(said) == 1 and "commit statuses only" in said[0]
    assert standin.calls(kind=NOTES) == [] and len(standin.calls("POST", STATUSES)) == 1


def test_the_token_variable_can_be_another(standin, tmp_path, clean_env) -> None:
    clean_env.delenv("MSO_GITLAB_TOKEN")
    clean_env.setenv("LAB_API_TOKEN", CANARY)
    said: list[str] = []
    assert notifier(tmp_path, said, "LAB_API_TOKEN").update(
        [record("heat", ["running"])]).note == "created"
    assert said == []


def test_the_token_never_leaves_in_a_body_note_or_status(standin, tmp_path) -> None:
    # a task that prints the token: the first error line would carry it into the note
    rec = record("heat", ["failed"], reason=f"exit code 1 after {CANARY}")
    stderr = tmp_path / "results" / "heat" / rec.run_id / "main-0000" / "stderr.txt"
    stderr.parent.mkdir(parents=True)
    stderr.write_text(f"token is {CANARY}\n")
    rec.tasks[0].stderr = "main-0000/stderr.txt"
    said: list[str] = []
    n = notifier(tmp_path, said)
    n.update([rec], remarks=[f"remark with {CANARY}"])
    assert standin.requests, "something was sent"
    for r in standin.requests:
        assert CANARY not in f"{r.path} {r.query} {r.headers} {r.body}"
    body = standin.notes[7][0]["body"]
    assert CANARY not in body and "token is [MASKED]" in body
    assert all(CANARY not in str(s) for s in standin.statuses)
    assert all(CANARY not in line for line in said)


def test_errors_are_one_line_without_the_token(standin) -> None:
    client = GitLab(standin.api_url, "42", "glpat-wrong")
    with pytest.raises(GitLabError) as caught:
        client.upsert_note(7, "<!-- m -->", "<!-- m --> hello")
    assert caught.value.status == 401 and "glpat-wrong" not in str(caught.value)
    assert str(caught.value) == "merge request !7: note: HTTP 401 (401 Unauthorized)"


@pytest.mark.parametrize("given, base", [("https://gitlab.com/api/v4", "https://gitlab.com"),
                                         ("https://git.lab.org/gl/api/v4/", "https://git.lab.org/gl"),
                                         ("http://127.0.0.1:8080", "http://127.0.0.1:8080")])
def test_base_url_from_ci_api_v4_url(given: str, base: str) -> None:
    assert base_url(given) == base


def test_no_request_before_the_first_note_or_status(standin) -> None:
    GitLab(standin.api_url, "42", CANARY)
    assert standin.requests == []
    assert re.match(r"^http://127\.0\.0\.1:\d+/api/v4$", standin.api_url)
