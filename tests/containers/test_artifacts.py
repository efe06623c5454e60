"""oras: a file (as a SIF would be) pushed to the test registry as an OCI artifact, pulled back
byte-identical; the digest mso reads for it is the registry's."""

from __future__ import annotations

import os
import uuid

import pytest
import requests

from runner.containers import artifacts
from runner.containers.access import Access
from runner.containers.reference import parse
from runner.containers.registry import Registry as Client
from tests.containers.conftest import Registry

pytestmark = pytest.mark.integration


def test_a_file_artifact_goes_and_comes_back_byte_identical(registry: Registry, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(registry.bundle))
    monkeypatch.setenv("ART_USER", registry.user)
    monkeypatch.setenv("ART_PASSWORD", registry.password)
    data = os.urandom(1 << 20) + b"SIF?"
    sif = tmp_path / "heat.sif"
    sif.write_bytes(data)
    ref = parse(f"{registry.host}/art/{uuid.uuid4().hex[:8]}/heat:1.0-test")
    creds = (registry.user, registry.password)
    artifacts.push_file(sif, ref, creds)
    pulled = artifacts.pull_file(ref, tmp_path / "out", creds)
    assert [p.name for p in pulled] == ["heat.sif"] and pulled[0].read_bytes() == data
    digest = Client(ref.registry, Access(None, "ART_USER", "ART_PASSWORD")).digest(ref)
    head = requests.head(registry.url(f"{ref.repository}/manifests/{ref.tag}"),
                         auth=creds, verify=str(registry.bundle), timeout=30,
                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert digest == head.headers["Docker-Content-Digest"]
    manifest = requests.get(registry.url(f"{ref.repository}/manifests/{digest}"), auth=creds,
                            verify=str(registry.bundle), timeout=30,
                            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
    assert manifest["layers"][0]["mediaType"] == artifacts.SIF_MEDIA_TYPE


def test_a_registry_that_is_not_there_is_transient(tmp_path):
    sif = tmp_path / "x.sif"
    sif.write_bytes(b"x")
    with pytest.raises(artifacts.Transient, match="did not answer"):
        artifacts.push_file(sif, parse("127.0.0.1:9/art/x:1"), None)
