"""The project's real pipeline under gitlab-ci-local: a checkout of the example with its bare
remote, and a way to run the pipeline (or some of its jobs) there. The checkout's .gitlab-ci.yml
is the include of mso's own (the component of this commit, mso installed from the checkout);
mso's test, lint and release jobs are tested in tests/release/test_pipeline.py.

No container engine runs here, so the component's `image:` line is dropped and the jobs run in
the shell, as on a shell runner; with --shell-isolation every job starts from its own copy of
the checkout plus the artifacts of earlier jobs, as on GitLab. The build job builds the heat
application for real with ch-image, FROM the test base image (.ci/services/base-image-up)
instead of the public default, which cannot be fetched here."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE, ROOT, require
from tests.containers.conftest import CH_PATH, BaseImage, Registry, base_image, registry  # noqa: F401

GCL = Path(os.environ.get("MSO_GITLAB_CI_LOCAL", ROOT / ".ci/node/node_modules/.bin/gitlab-ci-local"))
IMAGE_LINE = "  image: $[[ inputs.image ]]\n"
PROJECT_URL = "https://gitlab.invalid/mso/mso.git"   # only names the project for gitlab-ci-local
# ch-image's storage for the pipeline tests: holds the base image, pulled once, so that the
# build job builds offline and without registry credentials (as a fork's merge request does)
STORAGE = Path("/var/tmp/mso-test-pipeline.ch")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="session")
def builder_storage(registry: Registry, base_image: BaseImage) -> Path:  # noqa: F811
    """STORAGE with the base image in it (ch-image pull, with the registry's credentials)."""
    env = {"PATH": CH_PATH, "USER": "root", "HOME": "/root", "CH_IMAGE_STORAGE": str(STORAGE),
           "REQUESTS_CA_BUNDLE": str(registry.bundle)}
    listed = subprocess.run(["ch-image", "list"], capture_output=True, text=True, env=env)
    if listed.returncode == 0 and base_image.reference in listed.stdout.split():
        return STORAGE
    proc = subprocess.run(["ch-image", "pull", "--auth", base_image.reference], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600,
                          env={**env, "CH_IMAGE_USERNAME": registry.user,
                               "CH_IMAGE_PASSWORD": registry.password})
    assert proc.returncode == 0, f"ch-image pull {base_image.reference}:\n{proc.stdout}{proc.stderr}"
    return STORAGE


@pytest.fixture
def project(tmp_path: Path, base_image: BaseImage, builder_storage: Path) -> tuple[Path, Path]:  # noqa: F811
    """A checkout of the example repository with mso's pipeline, and its bare remote."""
    require(GCL.exists(), "gitlab-ci-local", ".ci/services/gitlab-ci-local-up")
    require((ROOT / ".venv/bin/mso").exists(), "mso in .venv", "scripts/venv test")
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(bare, "config", "receive.advertisePushOptions", "true")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\nenv | grep "^GIT_PUSH_OPTION_" >> "$GIT_DIR/push-options"\ncat >/dev/null\n')
    hook.chmod(0o755)
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    for name in (*EXAMPLE, "book", "templates"):
        shutil.copytree(ROOT / name, work / name)
    shutil.copy(ROOT / "mkdocs.yml", work / "mkdocs.yml")
    # mso's own pipeline, without mso's own test, lint and release jobs: the component's include
    own = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    (work / ".gitlab-ci.yml").write_text(yaml.safe_dump({"include": own["include"]}))
    component = work / "templates/pipeline/template.yml"
    text = component.read_text()
    assert text.count(IMAGE_LINE) == 1
    component.write_text(text.replace(IMAGE_LINE, ""))
    set_base(work, base_image.reference)
    # the jobs find mso installed (the component's before_script installs it only when absent)
    (work / ".mso-venv").symlink_to(ROOT / ".venv")
    (work / ".gitignore").write_text(".gitlab-ci-local/\n.cache/\npublic/\n*.xml\nmso-plan.md\n"
                                     "preview.env\n.mso/\n")
    git(work, "add", "-A")
    git(work, "-c", "user.name=ana", "-c", "user.email=ana@example.org", "commit", "-qm", "example")
    git(work, "push", "-q", "origin", "main")
    git(work, "remote", "add", "gcl-origin", PROJECT_URL)
    git(work, "remote", "set-head", "origin", "main")
    return work, bare


def set_base(work: Path, base: str) -> None:
    """Build the heat application FROM `base` (its build arg BASE), the rest as declared."""
    path = work / "applications" / "heat.yaml"
    declared = yaml.safe_load(path.read_text())["container"]["build"]["args"]["BASE"]
    text = path.read_text()
    assert text.count(f'BASE: "{declared}"') == 1
    path.write_text(text.replace(f'BASE: "{declared}"', f'BASE: "{base}"'))


def pipeline(work: Path, *args: str, variables: dict[str, str],
             secrets: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
             ) -> subprocess.CompletedProcess:
    """Run gitlab-ci-local in `work`; `secrets` go in a variables file (mode 0600) outside the
    checkout, never on a command line; `prefix` wraps the command (an unshare, say)."""
    # gitlab-ci-local makes up a registry (local-registry.<host>) that does not resolve: here the
    # project has no registry, as when it is disabled, unless a test gives one
    variables = {"CH_IMAGE_STORAGE": str(STORAGE), "CI_REGISTRY": "", "CI_REGISTRY_IMAGE": "",
                 **variables}
    secret_file = work.parent / "secret-variables.yml"
    secret_file.touch(mode=0o600)
    secret_file.write_text(yaml.safe_dump(secrets or {}))
    cmd = [*prefix, str(GCL), "--shell-executor-no-image", "--shell-isolation", "--no-color",
           f"--variables-file=../{secret_file.name}",   # gitlab-ci-local takes it relative
           *(f"--variable={k}={v}" for k, v in variables.items()), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITLAB_", "MSO_", "CH_"))}
    return subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600, env=env)


def built(work: Path, job: str, name: str) -> Path:
    return work / ".gitlab-ci-local/builds" / job / name


def job_log(work: Path, job: str) -> str:
    return (work / ".gitlab-ci-local/output" / f"{job}.log").read_text()
