"""Live logs on the test Slurm cluster: an OPM-like job's lines are read over the one SSH
connection while it runs (one command per tick), heard before it ends, and its history equals
its log; rotation and truncation mid-run lose and repeat no line."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.logs.classify import from_jsonl
from tests.monitor.opm import Heard, add_opm, experiment, grep_counts, run_in_process

pytestmark = pytest.mark.integration


def _history(run) -> list:
    tid = run.record.tasks[0].id
    return from_jsonl((run.results / tid / "opm.log.jsonl").read_text())


def _all_lines(run) -> list[str]:
    """The application's own ledger of every line, read from the job's work dir."""
    tid = run.record.tasks[0].id
    place = run.place(tid)
    out = place.scheduler.transport.run(f"cat {place.area.task_dir(tid)}/all.log")
    return out.check().stdout.splitlines()


def test_an_opm_job_is_heard_while_it_runs(on_cluster: Path) -> None:
    experiment(add_opm(on_cluster), "sim", "cluster", steps=8, seconds=8)
    heard = Heard()
    run, watcher, ended = run_in_process(on_cluster, "sim", heard)
    stats = watcher.stats()    # before the test itself reads the work dir (a new connection)
    t = run.record.tasks[0]
    assert t.state.value == "succeeded", t.reason
    before = [(when, e) for when, _, got in heard.calls if when < ended[t.id] for e in got]
    warnings = [e.text for _, e in before if e.severity == "WARNING"]
    rising = [e.progress for _, e in before if e.progress is not None]
    print(f"heard {len(before)} lines before the end, the first {ended[t.id] - before[0][0]:.1f} s "
          f"before; warnings {warnings}; progress {sorted(set(rising))}")
    assert warnings and len(set(rising)) >= 2 and rising == sorted(rising)
    lines = _all_lines(run)
    history = _history(run)
    assert [e.text for e in history] == lines and [e.line for e in history] == list(
        range(1, len(lines) + 1))
    assert t.logs["counts"] == dict(grep_counts("\n".join(lines))) and t.logs["progress"] == 100.0
    assert stats["log_commands"] == stats["log_reads"] <= stats["ticks"], stats
    assert stats["connections"] == 1, "no extra SSH connection"


@pytest.mark.parametrize("mode", ["rotate", "truncate"])
def test_rotation_and_truncation_on_the_cluster(on_cluster: Path, mode: str) -> None:
    gate = f"/tmp/mso-test-live-gate-{on_cluster.parent.name}-{mode}"   # the test user sees it
    Path(gate).unlink(missing_ok=True)
    experiment(add_opm(on_cluster), "sim", "cluster", steps=6, seconds=4, mode=mode, gate=gate)
    run, _, _ = run_in_process(on_cluster, "sim", Heard(Path(gate)))
    Path(gate).unlink(missing_ok=True)
    assert run.record.tasks[0].state.value == "succeeded", run.record.tasks[0].reason
    lines = _all_lines(run)
    assert [e.text for e in _history(run)] == lines
    assert [e.line for e in _history(run)] == list(range(1, len(lines) + 1))
