"""Fixtures of the tests that run against the test cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import COUNTER_APP, COUNTER_PY


@pytest.fixture
def slurm(on_cluster: Path) -> Path:
    (on_cluster / "applications" / "counter").mkdir()
    (on_cluster / "applications" / "counter.yaml").write_text(COUNTER_APP)
    (on_cluster / "applications" / "counter" / "count.py").write_text(COUNTER_PY)
    return on_cluster
