"""The container services are real and hold what the container tests rely on: the registry
refuses anonymous access and serves TLS that verifies against the local CA, the base image's
manifest is there under the digest the registry names, and the unprivileged user runs it."""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
from pathlib import Path

import pytest
import requests

from tests.containers.conftest import BaseImage, Registry, as_user

pytestmark = pytest.mark.integration

MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])


def get(registry: Registry, path: str, method: str = "GET", auth: bool = True,
        **kw) -> requests.Response:
    """One request to the registry API, TLS verified against the local CA."""
    credentials = (registry.user, registry.password) if auth else None
    return requests.request(method, registry.url(path), auth=credentials, verify=str(registry.ca),
                            timeout=30, headers={"Accept": MANIFEST_TYPES}, **kw)


def test_v2_refuses_without_credentials(registry: Registry) -> None:
    anonymous = get(registry, "", auth=False)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic ")
    wrong = requests.get(registry.url(), auth=(registry.user, registry.password + "x"),
                         verify=str(registry.ca), timeout=30)
    assert wrong.status_code == 401


def test_v2_accepts_credentials_over_verified_tls(registry: Registry) -> None:
    assert get(registry, "").status_code == 200
    # The combined bundle (REQUESTS_CA_BUNDLE for ch-image) trusts the registry as well...
    via_bundle = requests.get(registry.url(), auth=(registry.user, registry.password),
                              verify=str(registry.bundle), timeout=30)
    assert via_bundle.status_code == 200
    # ...and still holds the public roots, so other hosts keep verifying with it.
    assert registry.bundle.read_text().count("BEGIN CERTIFICATE") > 50


def test_system_trust_store_trusts_the_registry(registry: Registry) -> None:
    # curl without --cacert: the CA went into the system store (update-ca-certificates).
    proc = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", registry.url()],
                          capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (0, "401"), proc.stderr


def test_base_image_manifest_and_its_digest(registry: Registry, base_image: BaseImage) -> None:
    path = f"{base_image.repository}/manifests/{base_image.tag}"
    assert get(registry, path, auth=False).status_code == 401
    by_tag = get(registry, path)
    assert by_tag.status_code == 200
    digest = by_tag.headers["Docker-Content-Digest"]
    assert digest == "sha256:" + hashlib.sha256(by_tag.content).hexdigest()
    assert digest == base_image.digest   # what base-image-up saw after its push
    assert get(registry, path, method="HEAD").headers["Docker-Content-Digest"] == digest
    by_digest = get(registry, f"{base_image.repository}/manifests/{digest}")
    assert by_digest.status_code == 200 and by_digest.content == by_tag.content

    manifest = json.loads(by_tag.content)
    assert manifest["schemaVersion"] == 2 and manifest["layers"]
    config = get(registry, f"{base_image.repository}/blobs/{manifest['config']['digest']}")
    assert config.status_code == 200
    assert "sha256:" + hashlib.sha256(config.content).hexdigest() == manifest["config"]["digest"]
    assert len(json.loads(config.content)["rootfs"]["diff_ids"]) == len(manifest["layers"])
    for layer in manifest["layers"]:
        blob = get(registry, f"{base_image.repository}/blobs/{layer['digest']}", method="HEAD",
                   allow_redirects=True)
        assert blob.status_code == 200
        assert int(blob.headers["Content-Length"]) == layer["size"]


def test_test_user_has_user_namespaces_and_the_bundle(registry: Registry,
                                                     base_image: BaseImage) -> None:
    proc = as_user(base_image.user, "unshare -U -r true && ch-checkns")
    assert proc.returncode == 0, proc.stderr
    # What ch-image does as that user: Debian's requests, verifying through REQUESTS_CA_BUNDLE.
    probe = f"import requests; print(requests.get({registry.url()!r}, timeout=30).status_code)"
    proc = as_user(base_image.user, f"REQUESTS_CA_BUNDLE={shlex.quote(str(registry.bundle))} "
                                    f"/usr/bin/python3 -c {shlex.quote(probe)}")
    assert (proc.returncode, proc.stdout.strip()) == (0, "401"), proc.stderr


def test_test_user_runs_the_base_image(base_image: BaseImage, dir_image: Path) -> None:
    uid = as_user(base_image.user, "id -u").stdout.strip()
    script = "import numpy, os; print(numpy.__version__, os.getuid())"
    proc = as_user(base_image.user, f"ch-run {shlex.quote(str(dir_image))} -- "
                                    f"python3 -c {shlex.quote(script)}")
    assert proc.returncode == 0, f"ch-run exited {proc.returncode}: {proc.stderr}"
    version, inside = proc.stdout.split()
    assert version.split(".")[0] == "1" and inside == uid != "0"
