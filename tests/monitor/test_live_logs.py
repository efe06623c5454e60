"""Live logs on `local`, with real processes: an OPM-like application's lines are heard while it
runs, kept in results/ as they arrive, completed at collection without duplicates, summed up in
run.json; rotation and truncation mid-run lose no line and repeat none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.declarations.repository import load_valid
from runner.logs.classify import from_jsonl
from runner.monitor.watcher import Watcher
from runner.plan import resolve
from runner.runs import create, lifecycle, resume
from runner.schedulers.context import Context
from tests.conftest import add_counter
from tests.monitor.opm import Heard, add_opm, experiment, grep_counts, run_in_process


@pytest.fixture
def opm(example: Path) -> Path:
    return add_opm(add_counter(example))


def _history(run) -> tuple[list, Path]:
    tid = run.record.tasks[0].id
    work = run.place(tid).area.stage / tid
    return from_jsonl((run.results / tid / "opm.log.jsonl").read_text()), work


def test_lines_and_progress_are_heard_while_the_task_runs(opm: Path) -> None:
    experiment(opm, "sim", "local", steps=8, seconds=4)
    heard = Heard()
    run, watcher, ended = run_in_process(opm, "sim", heard)
    assert run.record.tasks[0].state.value == "succeeded"
    before = [e for when, _, got in heard.calls if when < ended[run.record.tasks[0].id] for e in got]
    assert any(e.severity == "WARNING" for e in before), "a WARNING heard before the end"
    rising = [e.progress for e in before if e.progress is not None]
    assert len(set(rising)) >= 2 and rising == sorted(rising), f"progress rises: {rising}"
    entries, work = _history(run)
    assert [e.line for e in entries] == list(range(1, len(entries) + 1)), "each line once"
    assert len(entries) == len((work / "opm.log").read_text().splitlines())
    assert [e.line for e in heard.entries()] == [e.line for e in entries], "heard once each"
    counts = grep_counts((work / "all.log").read_text())
    summary = run.record.tasks[0].logs
    assert summary["counts"] == dict(counts) and summary["progress"] == 100.0
    assert summary["first_error"] is None
    saved = json.loads((run.results / "run.json").read_text())["tasks"][0]["logs"]
    assert saved == summary
    stats = watcher.stats()
    assert stats["log_commands"] == stats["log_reads"] <= stats["ticks"], stats


@pytest.mark.parametrize("mode", ["rotate", "truncate"])
def test_rotation_and_truncation_mid_run_lose_no_line(opm: Path, tmp_path: Path, mode) -> None:
    gate = tmp_path / "gate"
    experiment(opm, "sim", "local", steps=6, seconds=3, mode=mode, gate=str(gate))
    run, _, _ = run_in_process(opm, "sim", Heard(gate))
    assert run.record.tasks[0].state.value == "succeeded", run.record.tasks[0].reason
    entries, work = _history(run)
    written = (work / "all.log").read_text().splitlines()
    assert [e.text for e in entries] == written
    assert [e.line for e in entries] == list(range(1, len(written) + 1))
    assert run.record.tasks[0].logs["counts"] == dict(grep_counts("\n".join(written)))


def test_turned_off_the_logs_are_classified_at_the_end(opm: Path, monkeypatch) -> None:
    monkeypatch.setenv("MSO_LIVE_LOGS", "0")
    experiment(opm, "sim", "local", steps=4, seconds=1)
    heard = Heard()
    run, watcher, ended = run_in_process(opm, "sim", heard)
    assert watcher.stats()["log_commands"] == 0
    assert all(when <= ended[run.record.tasks[0].id] for when, _, _ in heard.calls)
    entries, work = _history(run)
    assert [e.text for e in entries] == (work / "opm.log").read_text().splitlines()
    assert run.record.tasks[0].logs["progress"] == 100.0


def test_a_resumed_runner_goes_on_from_what_is_recorded(opm: Path) -> None:
    experiment(opm, "sim", "local", steps=8, seconds=4)
    repo, first = load_valid(opm), Heard()
    with Context() as ctx:
        run = create.create(ctx, repo, resolve.plan(repo, repo.experiments["sim"]), {})
        run.hear = first
        # watch until some lines are kept, then stop as a killed runner would
        Watcher([run], lambda submits: len(first.entries()) < 20).run()
        lifecycle.pause(run, "the test stopped watching")
    assert first.entries() and not run.finished
    [(folder, record)] = resume.unfinished(repo, "sim")
    with Context() as ctx:
        again = resume.resume(ctx, repo, folder, record)
        again.keep_workdir, second = True, Heard()
        again.hear = second
        Watcher([again]).run()
        lifecycle.close(again)
    entries, work = _history(again)
    lines = (work / "opm.log").read_text().splitlines()
    assert [e.text for e in entries] == lines
    assert [e.line for e in entries] == list(range(1, len(lines) + 1))
    heard = [e.line for e in first.entries() + second.entries()]
    assert sorted(heard) == [e.line for e in entries], "each line heard once, across runners"
    assert again.record.tasks[0].logs["counts"] == dict(grep_counts("\n".join(lines)))
