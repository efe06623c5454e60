"""Checking that a dataset can still be had: it is fetched into a runner cache (runner/data/
runnercache.py) and verified against the catalogue. A run's own stage-in is runner/data/stagein.py,
called by runner/runs/prepare.py."""

from __future__ import annotations

from pathlib import Path

from runner.data import stagein as data_stagein
from runner.data.runnercache import RunnerCache
from runner.declarations.models import Dataset, Repository


def fetch(ds: Dataset, repo: Repository, cache_root: Path) -> Path:
    """The dataset in a runner cache under `cache_root` (moved there at most once), verified;
    a StagingError naming both hashes when it is not what the catalogue says."""
    root = Path(repo.root)
    want = data_stagein.want_of(ds, root)
    runner = RunnerCache(cache_root)
    stored, _ = data_stagein.fetch(ds, want, root, runner)
    return runner.path(stored.sha256)
