"""Live logs on `local`, with real processes: an OPM-like application's lines are heard while it
runs, kept in results/ as they arrive, completed at collection without duplicates, summed up in
run.json; rotation and truncation mid-run lose no line and repeat none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.declarations.repository import load_valid
from runner.logs.classify import from_jsonl
from runner.monitor.watcher import Watcher
from runner.plan import resolve
from runner.runs import create, lifecycle, resume
from runner.schedulers.context import Context
from tests.conftest import ROOT, add_counter
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


HOSTILE = r'''import time
with open("opm.log", "wb") as fh:
    fh.write(b"bad \xff\xfe bytes\n")
    fh.flush()
    for _ in range(10):                        # a 10 MB line, no newline for a while
        fh.write(b"x" * (1 << 20))
        fh.flush()
        time.sleep(0.1)
    fh.write(b"\n")
    for _ in range(10):                        # then ~20 MB in about a second
        fh.write(b"Iteration 1 converged\n" * 100000)   # 2.2 MB
        fh.flush()
        time.sleep(0.1)
    fh.write(b"================    End of simulation     ===============\n")
'''


def test_a_hostile_log_keeps_mso_s_memory_bounded(opm: Path, tmp_path: Path) -> None:
    (opm / "applications" / "opm" / "opm.py").write_text(HOSTILE)
    experiment(opm, "sim", "local")
    with open(tmp_path / "out", "wb") as out:     # a file: the console may print many lines
        proc = subprocess.Popen([sys.executable, "-m", "runner", "-C", str(opm), "run", "sim"],
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out,
                                stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    said = (tmp_path / "out").read_bytes()[-2000:].decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, said
    print(f"mso peak RSS {usage.ru_maxrss} KiB")
    assert usage.ru_maxrss < 400 * 1024, f"{usage.ru_maxrss} KiB at the peak"
    [jsonl] = opm.glob("results/sim/*/*/opm.log.jsonl")
    entries = from_jsonl(jsonl.read_text())
    assert entries[0].text == "bad \ufffd\ufffd bytes" and entries[1].text.endswith("65536 bytes]")
    assert [e.line for e in entries] == list(range(1, 1000004)), "each line once"
    assert entries[-1].severity == "OK" and entries[-1].progress == 100
