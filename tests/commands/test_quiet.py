"""Quiet by default: outside a GitLab pipeline `mso run` says nothing about GitLab unless `-v`."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import cli
from runner.publish.notify import PIPELINE_VARS, Notifier
from tests.conftest import counter_experiment, mso


@pytest.fixture
def no_pipeline(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PIPELINE_VARS + ("MSO_GITLAB_TOKEN", "CI_MERGE_REQUEST_IID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_verbose_before_or_after_the_verb() -> None:
    parse = cli.parser().parse_args
    assert parse(["-v", "run"]).verbose and parse(["run", "--verbose"]).verbose
    assert not parse(["run"]).verbose
    assert parse(["-v", "status", "--json"]).verbose, "after the verb, nothing resets it"


def test_a_local_run_is_quiet_about_gitlab_unless_verbose(counter: Path, no_pipeline) -> None:
    counter_experiment(counter, "count", ["a"])
    quiet = mso("run", "count", repo=counter)
    assert quiet.returncode == 0, quiet.stderr
    assert "gitlab" not in (quiet.stdout + quiet.stderr).lower()
    counter_experiment(counter, "count", ["a", "b"])
    loud = mso("run", "count", "-v", repo=counter)
    assert loud.returncode == 0, loud.stderr
    assert "gitlab: not in a GitLab pipeline (" in loud.stdout + loud.stderr


def test_half_a_pipeline_is_always_said(tmp_path: Path, no_pipeline) -> None:
    said: list[str] = []
    Notifier.from_env(tmp_path, said.append, verbose=False)
    assert said == []
    no_pipeline.setenv("CI_PROJECT_ID", "42")
    Notifier.from_env(tmp_path, said.append, verbose=False)
    assert len(said) == 1 and "CI_API_V4_URL, CI_COMMIT_SHA not set" in said[0]
