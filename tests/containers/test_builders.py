"""Builders' command lines (golden files for the tools that cannot run here) and the choice."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from runner.containers import builders
from runner.containers.reference import parse
from runner.errors import ContainerError
from tests.golden import check_golden

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "containers" / "golden"
TARGET = parse("registry.example.org/lab/heat:1.2.0-0123456789ab")


def job(definition: bool = False, **kw) -> builders.Job:
    return builders.Job("heat", Path("/repo/applications/heat/heat.def" if definition
                                     else "/repo/applications/heat/Dockerfile"),
                        definition, Path("/repo/applications/heat"), TARGET,
                        {"BASE": "registry.example.org/lab/base:12", "N": "1 2"},
                        Path("/repo/.mso/build"), **kw)


def rendered(*commands: list[str]) -> str:
    return "".join(shlex.join(c) + "\n" for c in commands)


def test_apptainer_and_singularity_lines():
    conv = Path("/repo/.mso/build/heat.def")
    check_golden(GOLDEN / "apptainer.txt", rendered(
        builders.apptainer_build("apptainer", job(definition=True), Path("/repo/applications/heat/heat.def")),
        builders.apptainer_build("apptainer", job(), conv)))
    check_golden(GOLDEN / "singularity.txt", rendered(
        builders.apptainer_build("singularity", job(definition=True), Path("/repo/applications/heat/heat.def")),
        builders.apptainer_build("singularity", job(), conv)))


def test_buildah_lines():
    check_golden(GOLDEN / "buildah.txt", rendered(
        builders.buildah_build(job()), builders.buildah_login(TARGET.registry, "ci-bot"),
        builders.buildah_push(job())))


def test_chimage_lines():
    check_golden(GOLDEN / "ch-image.txt", rendered(
        builders.chimage_build(job()), builders.chimage_build(job(pull_auth=True)),
        builders.chimage_push(job())))


def test_no_password_in_any_argv_only_in_the_child_environment():
    env = builders.chimage_env({"PATH": "/usr/bin", "CH_IMAGE_PASSWORD": "stale"}, ("u", "s3cret-pw"))
    assert env["CH_IMAGE_USERNAME"] == "u" and env["CH_IMAGE_PASSWORD"] == "s3cret-pw"
    assert env["USER"] and env["CH_IMAGE_STORAGE"]
    assert "CH_IMAGE_PASSWORD" not in builders.chimage_env({"PATH": "/usr/bin",
                                                            "CH_IMAGE_PASSWORD": "stale"}, None)
    lines = rendered(builders.chimage_push(job()), builders.buildah_push(job()),
                     builders.buildah_login("r.io", "u"), builders.apptainer_build("apptainer", job(), Path("x")))
    assert "s3cret-pw" not in lines


@pytest.mark.parametrize("definition, installed, env, expected", [
    (False, ["ch-image", "apptainer", "buildah"], {}, "ch-image"),
    (False, ["buildah", "singularity"], {}, "singularity"),
    (False, ["buildah"], {}, "buildah"),
    (True, ["ch-image", "singularity", "apptainer"], {}, "apptainer"),
    (False, ["ch-image", "buildah"], {"MSO_BUILDER": "buildah"}, "buildah"),
])
def test_choice(definition, installed, env, expected):
    assert builders.choose(definition, env, installed) == expected


@pytest.mark.parametrize("definition, installed, env, says", [
    (True, ["ch-image", "buildah"], {}, "no builder for an Apptainer definition is installed"),
    (False, [], {}, "apt-get install charliecloud"),
    (False, ["ch-image"], {"MSO_BUILDER": "docker"}, "not a builder"),
    (False, ["ch-image"], {"MSO_BUILDER": "apptainer"}, "apptainer is not installed"),
    (True, ["ch-image"], {"MSO_BUILDER": "ch-image"}, "mso recipe convert"),
])
def test_choice_refused(definition, installed, env, says):
    with pytest.raises(ContainerError, match=says):
        builders.choose(definition, env, installed)
