"""Image references parse by the OCI distribution grammar, and bad ones say what is wrong."""

from __future__ import annotations

import pytest

from runner.containers.reference import Reference, parse
from runner.errors import ContainerError

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("text, registry, repository, tag, digest", [
    ("python:3.11-slim", "docker.io", "library/python", "3.11-slim", None),
    ("ana/heat", "docker.io", "ana/heat", None, None),
    ("127.0.0.1:5055/lab/debian-numpy:12", "127.0.0.1:5055", "lab/debian-numpy", "12", None),
    ("localhost/heat", "localhost", "heat", None, None),
    ("registry.gitlab.com/g/sub/p/heat:1.2.0-abc", "registry.gitlab.com", "g/sub/p/heat",
     "1.2.0-abc", None),
    (f"ghcr.io/a/b@{DIGEST}", "ghcr.io", "a/b", None, DIGEST),
    (f"ghcr.io/a/b:1@{DIGEST}", "ghcr.io", "a/b", "1", DIGEST),
    ("[::1]:5000/a/b_c__d-e.f:T_1", "[::1]:5000", "a/b_c__d-e.f", "T_1", None),
])
def test_parses(text, registry, repository, tag, digest):
    ref = parse(text)
    assert ref == Reference(registry, repository, tag, digest)
    assert parse(str(ref)) == ref   # what str() writes parses back to the same reference


@pytest.mark.parametrize("text, why", [
    ("", "empty"),
    (" heat:1", "spaces"),
    ("Heat:1", "'Heat'"),
    ("lab//heat", "''"),
    ("lab/heat:", "tag ''"),
    ("lab/heat:-1", "tag '-1'"),
    ("lab/heat@", "digest ''"),
    ("lab/heat@sha256:1234", "sha256:<64"),
    ("lab/heat@md5:" + "a" * 32, "sha256:<64"),
    ("reg_istry.io:5000/heat", "registry"),
    ("a/b:" + "x" * 129, "at most 128"),
    ("example.org/" + "a" * 250, "longer than 255"),
])
def test_refuses_with_the_reason(text, why):
    with pytest.raises(ContainerError) as info:
        parse(text)
    assert "does not parse" in str(info.value) and why in str(info.value)


def test_pinned_and_with_digest():
    ref = parse("127.0.0.1:5055/lab/heat:1.2.0-abc")
    assert ref.with_digest(DIGEST).pinned == f"127.0.0.1:5055/lab/heat@{DIGEST}"
    assert str(ref.with_digest(DIGEST)) == f"127.0.0.1:5055/lab/heat:1.2.0-abc@{DIGEST}"
    with pytest.raises(ContainerError, match="no digest"):
        _ = ref.pinned
    with pytest.raises(ContainerError, match="not a digest"):
        ref.with_digest("sha256:xyz")
