"""Fixtures of the tests that run against the test cluster."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import add_counter


@pytest.fixture
def slurm(on_cluster: Path) -> Path:
    """The repository reaching the test cluster, with the `counter` application."""
    return add_counter(on_cluster)


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A work root for `local` outside /tmp (a scan reads /tmp anyway; ch-run's unprivileged
    user reaches /var/tmp); removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="mso-test-", dir="/var/tmp"))
    yield root
    shutil.rmtree(root, ignore_errors=True)
