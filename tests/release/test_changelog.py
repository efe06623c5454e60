"""CHANGELOG.md keeps Keep a Changelog's shape, and scripts/changelog prints a release's entry or
refuses, in one line, a tag that has none (the release pipeline runs it with $CI_COMMIT_TAG)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "changelog"
CHANGELOG = ROOT / "CHANGELOG.md"
RELEASE = re.compile(r"^## \[(\d+)\.(\d+)\.(\d+)\] - (\d{4}-\d{2}-\d{2})$")
KINDS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def changelog(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=30)


def refused(done: subprocess.CompletedProcess) -> str:
    """The one line of a refusal (exit 1, nothing on stdout, no traceback)."""
    assert done.returncode == 1 and not done.stdout, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("scripts/changelog: "), done.stderr
    return lines[0]


def test_the_changelog_keeps_keep_a_changelogs_shape() -> None:
    lines = CHANGELOG.read_text().splitlines()
    assert lines[0] == "# Changelog"
    headings = [ln for ln in lines if ln.startswith("## ")]
    assert headings[0] == "## [Unreleased]", headings
    releases = [RELEASE.match(h) for h in headings[1:]]
    assert releases and all(releases), headings
    versions = [tuple(int(m[i]) for i in (1, 2, 3)) for m in releases]
    dates = [m[4] for m in releases]
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions)
    assert dates == sorted(dates, reverse=True), "newest first"
    kinds = {ln[4:] for ln in lines if ln.startswith("### ")}
    assert kinds <= KINDS, kinds - KINDS


def test_each_release_prints_its_own_entry_without_its_heading() -> None:
    text = CHANGELOG.read_text()
    releases = [RELEASE.match(ln) for ln in text.splitlines() if RELEASE.match(ln)]
    for m in releases:
        version = ".".join(m.group(1, 2, 3))
        done = changelog(version, cwd=Path("/"))      # from anywhere: the script finds the file
        assert done.returncode == 0 and not done.stderr, done
        entry = done.stdout.rstrip("\n")
        assert f"{m[0]}\n\n{entry}\n\n## " in text or text.endswith(f"{m[0]}\n\n{entry}\n")
        assert "## [" not in entry and entry.strip(), entry


def test_a_version_without_an_entry_is_refused_saying_what_to_add() -> None:
    assert refused(changelog("1.2.3")) == ('scripts/changelog: CHANGELOG.md has no entry for '
                                           '1.2.3: add "## [1.2.3] - YYYY-MM-DD" before tagging')


@pytest.mark.parametrize("tag", ["v0.1.0", "0.1", "Unreleased", "0.1.0; rm -rf /", ""])
def test_a_tag_that_is_no_release_version_is_refused(tag: str) -> None:
    line = refused(changelog(tag))
    assert "not a release version" in line and "X.Y.Z" in line


@pytest.mark.parametrize("args", [[], ["1.2.3", "4.5.6"], ["--nope", "1.2.3"]])
def test_a_wrong_command_line_is_one_line(args: list[str]) -> None:
    assert "usage: scripts/changelog VERSION" in refused(changelog(*args))


SAMPLE = """\
# Changelog

## [Unreleased]

### Added

- not released yet

## [2.0.0] - 2027-03-01

### Removed

- the old thing

## [1.1.0]

- no date

## [1.0.1] - 2027-01-02

## [1.0.0-rc.1] - 2027-01-01

### Added

- the last entry,
  at the end of the file
"""


def sample(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "CHANGELOG.md").write_text(SAMPLE)
    return changelog(*args, "--file", str(tmp_path / "CHANGELOG.md"))


def test_an_entry_ends_at_the_next_release(tmp_path: Path) -> None:
    done = sample(tmp_path, "2.0.0")
    assert (done.returncode, done.stdout) == (0, "### Removed\n\n- the old thing\n"), done


def test_the_last_entry_ends_with_the_file_and_prereleases_count(tmp_path: Path) -> None:
    done = sample(tmp_path, "1.0.0-rc.1")
    assert done.returncode == 0, done
    assert done.stdout == "### Added\n\n- the last entry,\n  at the end of the file\n"


def test_an_entry_without_a_date_or_without_text_is_refused(tmp_path: Path) -> None:
    assert "has no release date" in refused(sample(tmp_path, "1.1.0"))
    assert "is empty" in refused(sample(tmp_path, "1.0.1"))


def test_a_missing_changelog_is_one_line(tmp_path: Path) -> None:
    line = refused(changelog("1.0.0", "--file", str(tmp_path / "CHANGELOG.md")))
    assert "cannot read" in line and "CHANGELOG.md" in line
