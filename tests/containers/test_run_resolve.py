"""Where a run's image digest comes from, asked of the real test registry: .mso/images.json when
`mso build` recorded the current content tag, else the registry; an image it lacks stops `mso run`
with one line before anything is written. Also: the spec hash covers the recipe, not the digest;
dry runs render the runtime's line; validate and plan warn about `container_runtime: none`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.containers import recipe
from runner.declarations.repository import load_valid
from runner.errors import ContainerError
from runner.plan import resolve as planning
from runner.runs import images
from tests.conftest import mso
from tests.containers.conftest import BaseImage, Registry

APP = """\
name: probe
version: "1.0"
description: Says where it runs.
command: [python3, -c, "import numpy", "{{label}}"]
parameters: {{type: object, properties: {{label: {{type: string}}}}}}
container: {container}
"""
INFRA = """\
name: box
kind: local
work_root: {work}
container_runtime: {runtime}
"""
EXP = """\
name: where
application: probe
infrastructure: box
matrix: {label: [a, b, c]}
"""


def make(root: Path, container: str, runtime: str = "charliecloud") -> Path:
    for folder in ("applications", "datasets", "experiments", "infrastructures"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "applications" / "probe").mkdir(exist_ok=True)
    (root / "applications" / "probe.yaml").write_text(APP.format(container=container))
    (root / "infrastructures" / "box.yaml").write_text(INFRA.format(work=root / "work",
                                                                     runtime=runtime))
    (root / "experiments" / "where.yaml").write_text(EXP)
    return root


def registry_env(registry: Registry, image: str = "") -> dict[str, str]:
    """GitLab's registry variables, pointing at the test registry."""
    return {"CI_REGISTRY": registry.host, "CI_REGISTRY_IMAGE": image or f"{registry.host}/lab",
            "CI_REGISTRY_USER": registry.user, "CI_REGISTRY_PASSWORD": registry.password,
            "REQUESTS_CA_BUNDLE": str(registry.bundle), "MSO_REGISTRY_ATTEMPTS": "1"}


def plan_of(root: Path) -> tuple:
    repo = load_valid(root)
    return repo, planning.plan(repo, repo.experiments["where"])


def one_line(proc) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("mso: ")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.integration
def test_a_declared_image_resolves_to_the_registrys_digest(tmp_path, registry: Registry,
                                                           base_image: BaseImage, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(registry.bundle))
    repo, plan = plan_of(make(tmp_path, f"{{image: '{base_image.reference}'}}"))
    found = images.resolve(repo, plan, registry_env(registry))
    assert found["probe"].reference.digest == base_image.digest
    assert found["probe"].reference.pinned.endswith(f"lab/debian-numpy@{base_image.digest}")


@pytest.mark.integration
def test_a_tag_the_registry_lacks_is_one_line_and_no_run(tmp_path, registry: Registry, base_image):
    missing = base_image.reference.rsplit(":", 1)[0] + ":no-such-tag"
    root = make(tmp_path, f"{{image: '{missing}'}}")
    proc = mso("run", repo=root, env=registry_env(registry))
    assert one_line(proc) == (f"mso: applications/probe.yaml: container.image {missing} is not "
                              "in the registry (no such tag): push it, or correct the reference")
    assert not (root / "results").exists() and not (root / "work").exists()


@pytest.mark.integration
def test_a_recipe_never_pushed_is_one_line_saying_to_build(tmp_path, registry: Registry):
    root = make(tmp_path, "{build: {dockerfile: applications/probe/Dockerfile}}")
    (root / "applications" / "probe" / "Dockerfile").write_text("FROM scratch\n")
    repo = load_valid(root)
    tag = recipe.content_tag(root, repo.applications["probe"])
    proc = mso("run", repo=root, env=registry_env(registry, f"{registry.host}/never"))
    assert one_line(proc) == (f"mso: probe: {registry.host}/never/probe:{tag} is not in the "
                              "registry (its current recipe was not built and pushed): run "
                              "`mso build --push probe` first")
    assert not (root / "results").exists()


def test_images_json_with_the_current_tag_is_used_without_asking_a_registry(tmp_path):
    root = make(tmp_path, "{build: {dockerfile: applications/probe/Dockerfile}}")
    (root / "applications" / "probe" / "Dockerfile").write_text("FROM scratch\n")
    repo, plan = plan_of(root)
    tag = recipe.content_tag(root, repo.applications["probe"])
    digest = "sha256:" + "12" * 32
    record(root, "127.0.0.1:9/lab/probe", tag, digest)   # port 9: nothing answers there
    found = images.resolve(repo, plan, {"CI_REGISTRY_IMAGE": "127.0.0.1:9/lab"})
    assert found["probe"].reference.pinned == f"127.0.0.1:9/lab/probe@{digest}"
    # an old tag in images.json is not used: the registry is asked (and here does not answer)
    (root / "applications" / "probe" / "Dockerfile").write_text("FROM scratch\nENV A=1\n")
    repo, plan = plan_of(root)
    with pytest.raises(ContainerError, match="did not answer"):
        images.resolve(repo, plan, {"CI_REGISTRY_IMAGE": "127.0.0.1:9/lab",
                                    "MSO_REGISTRY_ATTEMPTS": "1"})


def record(root: Path, name: str, tag: str, digest: str) -> None:
    (root / ".mso").mkdir(exist_ok=True)
    (root / ".mso" / "images.json").write_text(json.dumps({"format": 1, "images": {"probe": {
        "reference": f"{name}:{tag}", "tag": tag, "digest": digest, "builder": "ch-image",
        "source": "build", "pinned": f"{name}@{digest}"}}}))


def test_the_spec_hash_covers_the_recipe_not_the_digest(tmp_path):
    root = make(tmp_path, "{build: {dockerfile: applications/probe/Dockerfile}}")
    dockerfile = root / "applications" / "probe" / "Dockerfile"
    dockerfile.write_text("FROM scratch\n")
    before = plan_of(root)[1].spec_hash
    record(root, "r.example.org/lab/probe", "1.0-x", "sha256:" + "34" * 32)
    assert plan_of(root)[1].spec_hash == before, "a digest recorded changes nothing"
    dockerfile.write_text("FROM scratch\nENV A=1\n")
    assert plan_of(root)[1].spec_hash != before, "a changed recipe is a new spec"


def test_runs_without_a_runtime_resolve_nothing(tmp_path):
    repo, plan = plan_of(make(tmp_path, "{image: 'r.example.org/lab/x:1'}", runtime="none"))
    assert images.uses(repo, plan) == {} and images.resolve(repo, plan, {}) == {}


def test_a_dry_run_renders_ch_run_with_the_recorded_digest(tmp_path):
    root = make(tmp_path, "{build: {dockerfile: applications/probe/Dockerfile}}")
    (root / "applications" / "probe" / "Dockerfile").write_text("FROM scratch\n")
    proc = mso("run", "--dry-run", repo=root)
    assert proc.returncode == 0, proc.stderr
    assert f"{root}/work/.images/DIGEST -- python3 -c 'import numpy' a" in proc.stdout
    repo = load_valid(root)
    tag = recipe.content_tag(root, repo.applications["probe"])
    record(root, "r.example.org/lab/probe", tag, "sha256:" + "56" * 32)
    proc = mso("run", "--dry-run", repo=root)
    assert "ch-run --env-no-expand '--unset-env=*'" in proc.stdout
    assert f"-b {root}/work:{root}/work -c {root}/work/" in proc.stdout
    assert f"{root}/work/.images/{'56' * 32} -- python3" in proc.stdout


def test_validate_and_plan_warn_that_the_hosts_environment_is_used(tmp_path):
    root = make(tmp_path, "{image: 'r.example.org/lab/x:1'}", runtime="none")
    for verb in ("validate", "plan"):
        proc = mso(verb, repo=root)
        assert proc.returncode == 0, proc.stderr
        assert ("experiments/where.yaml: warning: probe declares a container, but infrastructure "
                "'box' has container_runtime: none, so its tasks run in the host's environment "
                "(its python, its libraries), not in the image") in proc.stderr.splitlines()
    root2 = make(tmp_path / "other", "{image: 'r.example.org/lab/x:1'}")
    assert "warning" not in mso("validate", repo=root2).stderr


def test_charliecloud_refuses_a_read_only_volume(tmp_path):
    root = make(tmp_path, "{image: 'r.example.org/lab/x:1'}")
    with (root / "infrastructures" / "box.yaml").open("a") as fh:
        fh.write("volumes: [/data, '/ref:/mnt/ref:ro']\n")
    proc = mso("validate", repo=root)
    assert proc.returncode == 1
    assert ("infrastructures/box.yaml:5:18: volumes[1]: '/ref:/mnt/ref:ro': charliecloud binds "
            "read-write only") in proc.stdout
