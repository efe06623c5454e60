"""The run page's Resources section: asked against used per task, and the run's sums in
seconds or minutes for short runs (never 0.00 hours)."""

from __future__ import annotations

from types import SimpleNamespace

from runner.book.pages import resources
from runner.state import TaskRecord


def test_short_runs_sum_in_seconds_and_figures_show_per_task() -> None:
    a = TaskRecord("main-0000", "main", 0, {}, [], state="succeeded", requested={"cpus": 4, "memory_mb": 512},
                   usage={"elapsed_s": 10, "cpu_s": 30.0, "queue_wait_s": 3, "energy_j": 5400, "source": "sacct"})
    b = TaskRecord("main-0001", "main", 1, {}, [], state="succeeded", requested={"cpus": 1},
                   usage={"elapsed_s": 20, "cpu_s": 5.0, "source": "wrapper"})
    text = resources.section(SimpleNamespace(record=SimpleNamespace(tasks=[a, b])))
    assert "1 min 00 s" in text                       # reserved: 4 x 10 + 1 x 20 core seconds
    assert "35 s (58 % of reserved)" in text          # used: 30 + 5 CPU seconds
    assert "5.4 kJ" in text and "0.00" not in text
    assert "main-0000 | 4 | 512.0 MiB" in text and "| sacct |" in text and "| wrapper |" in text
