"""Fixtures of the tests that run against the test cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import add_counter


@pytest.fixture
def slurm(on_cluster: Path) -> Path:
    """The repository reaching the test cluster, with the `counter` application."""
    return add_counter(on_cluster)
