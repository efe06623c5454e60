"""`mso rerun` and images: the run's digests are pinned in the worktree's .mso/images.json, and a
commit whose image would be another digest is refused, by name, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.containers import recipe
from runner.declarations.models import plain
from runner.errors import MsoError
from runner.runs import images, rerun
from runner.state import RunRecord, TaskRecord
from tests.containers.test_run_resolve import make, plan_of

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def _record(plan, digest: str, reference: str) -> RunRecord:
    tasks = [TaskRecord(t.id, t.step, t.index, plain(t.parameters)) for t in plan.tasks]
    return RunRecord("20250101T000000Z-00000000-00000000", plan.experiment, plan.spec_hash, {}, {},
                     tasks, git={"commit": "c0ffee" * 6 + "c0ff", "dirty": False},
                     datasets=dict(plan.datasets),
                     images=[{"application": "probe", "infrastructure": "box",
                              "runtime": "charliecloud", "reference": reference,
                              "digest": digest, "path": "", "pulled": True}])


def test_an_image_that_would_be_another_digest_is_refused(tmp_path: Path) -> None:
    repo, plan = plan_of(make(tmp_path, f'{{image: "registry.example.org/lab/probe@{A}"}}'))
    rerun.check(repo, plan, _record(plan, A, "registry.example.org/lab/probe"), print)
    with pytest.raises(MsoError, match=f"image of probe: the run ran in {B}, at commit c0ffee"):
        rerun.check(repo, plan, _record(plan, B, "registry.example.org/lab/probe"), print)


def test_a_built_image_is_pinned_to_the_recorded_digest(tmp_path: Path) -> None:
    root = make(tmp_path, "{build: {dockerfile: applications/probe/Dockerfile}}")
    (root / "applications" / "probe" / "Dockerfile").write_text("FROM scratch\n")
    repo, plan = plan_of(root)
    tag = recipe.content_tag(root, repo.applications["probe"])
    record = _record(plan, B, f"registry.example.org/lab/probe:{tag}")
    rerun.pin_images(root, tmp_path / "elsewhere", repo, record)
    assert images.resolve(repo, plan)["probe"].reference.digest == B   # no registry asked
    rerun.check(repo, plan, record, print)
