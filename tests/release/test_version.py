"""mso's version comes from git tags: the tag at a tagged commit, a dev version between tags, the
same from a source tree, an editable install and a build (setuptools-scm), and in run.json.

Tags are X.Y.Z without a "v" (the GitLab CI/CD Catalog takes only semantic versions); the
scheme is setuptools-scm's default, guess-next-dev with node-and-date (pyproject.toml).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, add_counter, counter_experiment, mso
from tests.test_readme import fresh_clone

TAG = "9.8.7"
DEV = re.compile(r"^9\.8\.8\.dev(?P<n>\d+)\+g(?P<node>[0-9a-f]{7,})(?P<date>\.d\d{8})?$")


def git(cwd: Path, *args: str) -> str:
    """A git command in `cwd` as a test author; its stdout."""
    return subprocess.run(["git", "-c", "user.name=Release Test", "-c", "user.email=rt@invalid",
                           *args], cwd=cwd, capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()


def untagged(checkout: Path) -> Path:
    """The checkout without the tags it was cloned with (mso's own releases)."""
    tags = git(checkout, "tag", "--list").split()
    if tags:
        git(checkout, "tag", "-d", *tags)
    return checkout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """HEAD of this repository, cloned without its tags (a checkout with git, no install)."""
    git(tmp_path, "clone", "-q", str(ROOT), "mso")
    return untagged(tmp_path / "mso")


def version_from_source(checkout: Path) -> str:
    """What `mso --version` says when runner/ is imported from the checkout (PYTHONPATH; run
    outside this checkout, which `python -m` would put first on the path)."""
    done = mso("--version", repo=checkout.parent, env={"PYTHONPATH": str(checkout)},
               cwd=checkout.parent)
    assert done.returncode == 0, done.stderr
    return done.stdout.removeprefix("mso ").strip()


def scm_version(checkout: Path) -> str:
    """What setuptools-scm gives a build of the checkout (pyproject.toml's settings)."""
    return subprocess.run([sys.executable, "-m", "setuptools_scm"], cwd=checkout,
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def same_as_scm(version: str, checkout: Path) -> None:
    """The version agrees with setuptools-scm's: the same public part, the same commit."""
    built = scm_version(checkout)
    assert version.split("+")[0] == built.split("+")[0], (version, built)
    if "+" in built:
        node, other = version.split("+")[1].split(".")[0], built.split("+")[1].split(".")[0]
        assert node.startswith(other) or other.startswith(node), (version, built)


@pytest.mark.parametrize(("tag", "version", "after"), [
    (TAG, TAG, "9.8.8.dev1+g"),
    ("1.2.3-rc.1", "1.2.3rc1", "1.2.3rc2.dev1+g"),   # a pre-release, spelt as PEP 440 does
])
def test_a_tagged_commit_is_the_tag(clone: Path, tag: str, version: str, after: str) -> None:
    git(clone, "tag", tag)
    assert version_from_source(clone) == version
    same_as_scm(version, clone)
    git(clone, "commit", "-q", "--allow-empty", "-m", "after the tag")
    assert version_from_source(clone).startswith(after)


def test_a_commit_after_the_tag_is_the_next_dev_version(clone: Path) -> None:
    git(clone, "tag", TAG)
    for n in (1, 2):
        git(clone, "commit", "-q", "--allow-empty", "-m", f"after the tag, {n}")
        version = version_from_source(clone)
        found = DEV.match(version)
        assert found and found["n"] == str(n) and not found["date"], version
        assert git(clone, "rev-parse", "HEAD").startswith(found["node"])
        same_as_scm(version, clone)


def test_uncommitted_changes_add_the_date(clone: Path) -> None:
    git(clone, "tag", TAG)
    with (clone / "README.md").open("a") as fh:
        fh.write("\nchanged, not committed\n")
    version = version_from_source(clone)
    found = DEV.match(version)
    assert found and found["n"] == "0" and found["date"], version
    same_as_scm(version, clone)


def test_before_the_first_tag_the_commits_are_counted(clone: Path) -> None:
    version = version_from_source(clone)
    count = git(clone, "rev-list", "--count", "HEAD")
    assert re.fullmatch(rf"0\.1\.dev{count}\+g[0-9a-f]{{7,}}", version), version
    same_as_scm(version, clone)


def test_a_copy_without_git_or_metadata_says_unknown(tmp_path: Path) -> None:
    """runner/ copied out of any checkout, with no install of it: no version to claim."""
    shutil.copytree(ROOT / "runner", tmp_path / "src" / "runner",
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert version_from_source(tmp_path / "src") == "0+unknown"


def test_an_editable_install_follows_git_and_run_json_records_it(tmp_path: Path,
                                                                 example: Path) -> None:
    """Installed (editable) before the tag, then tagged and committed to: no reinstall needed."""
    checkout = untagged(fresh_clone(tmp_path))
    installed = subprocess.run(
        [str(checkout / ".venv/bin/python"), "-c",
         "import importlib.metadata as m; print(m.version('mso'))"],
        capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    git(checkout, "tag", TAG)
    bin_mso = str(checkout / ".venv/bin/mso")
    said = subprocess.run([bin_mso, "--version"], capture_output=True, text=True, timeout=60)
    assert said.stdout.strip() == f"mso {TAG}", said.stdout + said.stderr
    git(checkout, "commit", "-q", "--allow-empty", "-m", "after the tag")
    said = subprocess.run([bin_mso, "--version"], capture_output=True, text=True, timeout=60)
    version = said.stdout.strip().removeprefix("mso ")
    assert DEV.match(version) and version != installed, (version, installed)

    repo = add_counter(example)
    counter_experiment(repo, "count", ["a"])
    ran = subprocess.run([bin_mso, "-C", str(repo), "run", "count"], capture_output=True,
                         text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    [record] = (repo / "results" / "count").glob("*/run.json")
    assert json.loads(record.read_text())["mso_version"] == version
