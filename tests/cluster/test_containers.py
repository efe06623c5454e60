"""Containers on the test cluster, for real: an image built FROM the base image by `mso build
--push` (ch-image, the test registry), then a sweep through `mso run` on Slurm with
`container_runtime: charliecloud`, as the unprivileged test user over sshd. Each task proves it
ran in the image; the run pulls once, a run of the same digest never; a pull killed mid-way
leaves no image in the cache; a runtime the host lacks is one line before anything is submitted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, mso
from tests.containers.conftest import BaseImage, Registry
from tests.containers.conftest import base_image, registry  # noqa: F401 (fixtures used here)

pytestmark = pytest.mark.integration

APP = """\
name: probe
version: "1.0"
description: Says where it runs, from inside its image.
command: [python3, probe.py, "{label}"]
parameters: {type: object, properties: {label: {type: string}}}
environment: {MSO_PROBE: "set by the application"}
outputs: [probe.json]
container:
  build:
    dockerfile: applications/probe/Dockerfile
    args: {BASE: "%s"}
"""
DOCKERFILE = "ARG BASE\nFROM $BASE\nCOPY marker.txt /etc/mso-image-marker\n"
MARKER = "built FROM the base image by mso build for tests/cluster/test_containers.py\n"
PROBE = """\
import json, os, sys
import numpy   # the host's python3 has no numpy; the base image has python3-numpy
json.dump({"label": sys.argv[1], "numpy": numpy.__version__, "cwd": os.getcwd(),
           "marker": open("/etc/mso-image-marker").read(), "env": dict(os.environ)},
          open("probe.json", "w"))
"""
EXPERIMENT = "name: probe-sweep\napplication: probe\ninfrastructure: cluster\n" \
             "matrix: {label: [a, b, c]}\n"
STORAGE = "/var/tmp/mso-test-run.ch"   # ch-image storage of these tests (one ch-image at a time each)


def add_probe(repo: Path, base: str) -> Path:
    folder = repo / "applications" / "probe"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(DOCKERFILE)
    (folder / "marker.txt").write_text(MARKER)
    (folder / "probe.py").write_text(PROBE)
    (repo / "applications" / "probe.yaml").write_text(APP % base)
    (repo / "experiments").mkdir(exist_ok=True)
    (repo / "experiments" / "probe-sweep.yaml").write_text(EXPERIMENT)
    return repo


def registry_env(registry: Registry) -> dict[str, str]:
    """GitLab's registry variables, for the test registry. The repository path is fixed, so an
    image already pushed by an earlier session (same content tag) is not built again."""
    return {"CI_REGISTRY": registry.host, "CI_REGISTRY_IMAGE": f"{registry.host}/mso-tests/run",
            "CI_REGISTRY_USER": registry.user, "CI_REGISTRY_PASSWORD": registry.password,
            "REQUESTS_CA_BUNDLE": str(registry.bundle), "CH_IMAGE_STORAGE": STORAGE,
            "MSO_BUILDER": "ch-image"}


@pytest.fixture(scope="module")
def built(registry: Registry, base_image: BaseImage, tmp_path_factory) -> dict:
    """The probe image, built FROM the base image and pushed by `mso build --push`."""
    repo = tmp_path_factory.mktemp("build")
    for folder in ("applications", "datasets", "infrastructures"):
        (repo / folder).mkdir()
    add_probe(repo, base_image.reference)
    (repo / "experiments" / "probe-sweep.yaml").unlink()
    proc = mso("build", "--push", "--json", repo=repo, env=registry_env(registry), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [image] = json.loads(proc.stdout)["images"]
    assert image["digest"], image
    return image


@pytest.fixture
def in_image(on_cluster: Path, built: dict, base_image: BaseImage) -> Path:
    """The cluster repository with the probe sweep and `container_runtime: charliecloud`."""
    add_probe(on_cluster, base_image.reference)
    infra = on_cluster / "infrastructures" / "cluster.yaml"
    infra.write_text(infra.read_text() + "container_runtime: charliecloud\n")
    return on_cluster


def record_of(repo: Path) -> dict:
    [path] = sorted((repo / "results" / "probe-sweep").glob("*/run.json"))[-1:]
    return json.loads(path.read_text())


def cluster_shell(command: str) -> subprocess.CompletedProcess:
    """A command on the cluster host as the test user (the test runs as root on that host)."""
    return subprocess.run(["su", "-s", "/bin/bash", "-l", "msotest", "-c", command],
                          capture_output=True, text=True, timeout=60)


def kill_pull_when_it_starts(digest: str, runner: subprocess.Popen, seconds: float = 300) -> None:
    """SIGKILL the test user's ch-image pulling `digest`, once it runs (by pid)."""
    hexdigest = digest.split(":")[1]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and runner.poll() is None:
        found = subprocess.run(["pgrep", "-u", "msotest", "-f", f"ch-image .*pull.*{hexdigest}"],
                               capture_output=True, text=True).stdout.split()
        if found:
            time.sleep(0.5)   # well into the pull
            for pid in found:
                os.kill(int(pid), signal.SIGKILL)
            return
        time.sleep(0.05)
    pytest.fail("the pull never started")


def test_a_sweep_runs_in_the_image_with_one_pull_and_a_killed_pull_leaves_nothing(
        in_image: Path, built: dict, registry: Registry) -> None:
    env = registry_env(registry)
    # 1. the pull killed mid-way: the run stops before anything is written or submitted
    runner = subprocess.Popen([sys.executable, "-m", "runner", "-C", str(in_image), "run",
                               "probe-sweep"], env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                              text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kill_pull_when_it_starts(built["digest"], runner)
    _, err = runner.communicate(timeout=300)
    assert runner.returncode == 1 and "Traceback" not in err, err
    assert "fetching 127.0.0.1:5055/mso-tests/run/probe@sha256:" in err and "failed" in err
    assert not (in_image / "results").exists(), "no run was started"
    home = cluster_shell("cd && pwd").stdout.strip()
    images = f"{home}/{work_root(in_image)}/.images"
    listing = cluster_shell(f"ls -A {images}").stdout.split()
    assert listing == [f"{built['digest'].split(':')[1]}.lock"], "no half image, no .part left"

    # 2. the run: one pull, every task in the image
    proc = mso("run", "probe-sweep", repo=in_image, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = record_of(in_image)
    assert first["state"] == "succeeded"
    [image] = first["images"]
    assert (image["digest"], image["pulled"], image["runtime"]) == (built["digest"], True,
                                                                    "charliecloud")
    assert image["reference"] == built["reference"] and image["path"].startswith(images)
    for task in first["tasks"]:
        probe = json.loads((in_image / "results" / "probe-sweep" / first["run_id"] / task["id"]
                            / "probe.json").read_text())
        assert probe["marker"] == MARKER and probe["numpy"]
        assert probe["cwd"] == f"{first['work_dir']}/{task['id']}"
        assert probe["env"]["MSO_PROBE"] == "set by the application"
        assert not any(k.startswith(("SLURM_", "SSH_", "MSO_TEST")) for k in probe["env"]), \
            "a clean environment"

    # 3. the same digest again: no pull
    proc = mso("run", "--force", "probe-sweep", repo=in_image, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    second = record_of(in_image)
    assert second["run_id"] != first["run_id"] and second["state"] == "succeeded"
    assert [(i["digest"], i["pulled"]) for i in second["images"]] == [(built["digest"], False)]
    assert f"image {built['reference']}@{built['digest']} on cluster: cached" in proc.stderr


def test_a_runtime_the_host_lacks_is_one_line_before_anything_is_submitted(
        in_image: Path, registry: Registry) -> None:
    infra = in_image / "infrastructures" / "cluster.yaml"
    infra.write_text(infra.read_text().replace("container_runtime: charliecloud",
                                               "container_runtime: apptainer"))
    proc = mso("run", "probe-sweep", repo=in_image, env=registry_env(registry), timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("mso: ")]
    assert errors == ["mso: infrastructure 'cluster' (127.0.0.1, container_runtime: apptainer): "
                      "apptainer is not found there, so it cannot run images (install the "
                      "runtime, or name its module under `modules:`)"]
    assert not (in_image / "results").exists()


def work_root(repo: Path, infra: str = "cluster") -> str:
    """The `work_root:` written in a repository's infrastructures/<infra>.yaml."""
    line = next(ln for ln in (repo / "infrastructures" / f"{infra}.yaml").read_text().splitlines()
                if ln.startswith("work_root:"))
    return line.split(":", 1)[1].strip()


@pytest.fixture(autouse=True)
def _clean_work_root(request):
    """Remove what the test made under the test user's home (its images are ~230 MB)."""
    yield
    repo = request.node.funcargs.get("in_image")
    if repo is not None:
        cluster_shell(f"rm -rf ~/{work_root(repo)}")
