"""Datasets kept in the repository, fetched into a runner cache (what mso rerun checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import StagingError
from runner.declarations.models import Dataset
from runner.data import stagein


def test_a_symlink_out_of_a_dataset_folder_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "data" / "set").mkdir(parents=True)
    (repo / "data" / "set" / "ok.txt").write_text("fine")
    (tmp_path / "secret.txt").write_text("outside")
    (repo / "data" / "set" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    ds = Dataset(name="set", description="d", location="data/set/", path="datasets/set.yaml")
    with pytest.raises(StagingError, match="leak.txt is a symlink that leaves the repository"):
        stagein.into_cache(ds, repo, tmp_path / "run")
    assert not list((tmp_path / "run").rglob("secret*")) and not list((tmp_path / "run").rglob("leak*"))


def test_checksum_and_size_are_verified(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("data\n")
    ds = Dataset(name="d", description="d", location="d.txt", sha256="0" * 64, path="datasets/d.yaml")
    with pytest.raises(StagingError, match="the catalogue says 0000"):
        stagein.into_cache(ds, tmp_path, tmp_path / "run")
