"""Fixtures of the container tests: the test registry and base image that
.ci/services/registry-up and .ci/services/base-image-up start and describe in /var/lib/mso-test/env."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.conftest import CLUSTER_ENV, require, unavailable

# ch-image and ch-convert are Python scripts run by `env python3`: Debian's, which has lark.
CH_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Registry:
    """The test registry: where it is, who may use it, and what its TLS certificate chains to."""

    host: str        # host:port, as in image references
    user: str
    password: str = field(repr=False)   # kept out of failure tracebacks
    ca: Path         # the local CA that signed the registry's certificate
    bundle: Path     # system roots + that CA: what REQUESTS_CA_BUNDLE points at

    def url(self, path: str = "") -> str:
        """The URL of a registry API path below /v2/."""
        return f"https://{self.host}/v2/{path}"


@dataclass(frozen=True)
class BaseImage:
    """The base image pushed by base-image-up, and where the builder keeps it."""

    reference: str   # host:port/lab/debian-numpy:12
    digest: str      # sha256:... of its manifest, as the registry answered after the push
    local_name: str  # its name in the builder's storage (debian-numpy:12)
    storage: Path    # CH_IMAGE_STORAGE of that builder
    user: str        # the unprivileged user that runs containers

    @property
    def repository(self) -> str:
        """The repository path inside the registry (lab/debian-numpy)."""
        return self.reference.split("/", 1)[1].rsplit(":", 1)[0]

    @property
    def tag(self) -> str:
        """The tag (12)."""
        return self.reference.rsplit(":", 1)[1]


def read_env() -> dict[str, str]:
    """The KEY=value lines of the services' env file."""
    require(CLUSTER_ENV.exists(), "the test services' env file", f"{CLUSTER_ENV} is missing")
    return dict(line.split("=", 1) for line in CLUSTER_ENV.read_text().splitlines() if "=" in line)


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The running test registry (.ci/services/registry-up); skips, or under CI=true fails, without it."""
    env = read_env()
    how = "run .ci/services/registry-up as root"
    require("MSO_TEST_REGISTRY" in env, "the test registry", how)
    password_file = Path(env["MSO_TEST_REGISTRY_PASSWORD_FILE"])
    require(os.access(password_file, os.R_OK), "the registry password",
            f"{password_file} is root-only: run the tests as root")
    found = Registry(host=env["MSO_TEST_REGISTRY"], user=env["MSO_TEST_REGISTRY_USER"],
                     password=password_file.read_text().strip(), ca=Path(env["MSO_TEST_REGISTRY_CA"]),
                     bundle=Path(env["MSO_TEST_CA_BUNDLE"]))
    try:
        requests.get(found.url(), verify=str(found.ca), timeout=5)
    except requests.RequestException as exc:
        unavailable(f"the test registry at {found.host} does not answer ({exc}); {how}")
    return found


@pytest.fixture(scope="session")
def base_image(registry: Registry) -> BaseImage:
    """The base image in the test registry (.ci/services/base-image-up)."""
    env = read_env()
    require("MSO_TEST_BASE_IMAGE" in env, "the base image", "run .ci/services/base-image-up as root")
    reference = env["MSO_TEST_BASE_IMAGE"]
    return BaseImage(reference=reference, digest=env["MSO_TEST_BASE_IMAGE_DIGEST"],
                     local_name=reference.split("/")[-1], storage=Path(env["MSO_TEST_CH_IMAGE_STORAGE"]),
                     user=env["MSO_TEST_CONTAINER_USER"])


def as_user(user: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a shell command as `user` (the tests run as root, as scripts/test does)."""
    return subprocess.run(["su", "-s", "/bin/sh", user, "-c", command], capture_output=True,
                          text=True, timeout=timeout, env={"PATH": CH_PATH, "LC_ALL": "C.UTF-8"})


@pytest.fixture(scope="session")
def dir_image(base_image: BaseImage) -> Iterator[Path]:
    """The base image as a directory image that the unprivileged user can ch-run
    (`ch-convert -i ch-image -o dir`, as for a compute node); removed at the end."""
    require(os.geteuid() == 0, "root", f"the tests act as {base_image.user} through su")
    parent = Path(tempfile.mkdtemp(prefix="mso-dir-image-", dir="/var/tmp"))
    parent.chmod(0o755)   # the image is read by the unprivileged user
    image = parent / "img"
    env = {"PATH": CH_PATH, "USER": "root", "HOME": "/root",
           "CH_IMAGE_STORAGE": str(base_image.storage)}
    proc = subprocess.run(["ch-convert", "-i", "ch-image", "-o", "dir", base_image.local_name,
                           str(image)], capture_output=True, text=True, timeout=300, env=env)
    if proc.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        pytest.fail(f"ch-convert exited {proc.returncode}:\n{proc.stdout}{proc.stderr}", pytrace=False)
    yield image
    shutil.rmtree(parent, ignore_errors=True)
