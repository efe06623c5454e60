"""Image references (`registry/repository:tag@digest`), parsed by the OCI distribution grammar.

The grammar and the rule for telling a registry from a path component are those of the
distribution project's `reference` package (what docker and every registry client follow): the
first component is a registry when it holds a `.` or a `:` or is `localhost`. Written here
rather than taken from oras-py, whose reference pattern accepts names the grammar refuses
(upper case, empty components), and a wrong reference should fail at validation, not at a pull.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from runner.errors import ContainerError

DOCKER_HUB = "docker.io"
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|-+)"
_COMPONENT = re.compile(rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*\Z")
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = re.compile(rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?\Z")
_TAG = re.compile(r"[\w][\w.-]{0,127}\Z")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z|sha512:[0-9a-f]{128}\Z")
NAME_MAX = 255


@dataclass(frozen=True)
class Reference:
    """One image: where it lives, and which one (a tag, a digest, or both)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def name(self) -> str:
        """registry/repository, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def pinned(self) -> str:
        """name@digest: the form that always means the same image."""
        if not self.digest:
            raise ContainerError(f"{self} has no digest to pin it by")
        return f"{self.name}@{self.digest}"

    @property
    def target(self) -> str:
        """What the registry's manifest endpoint takes: the digest if known, else the tag."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> "Reference":
        if not _DIGEST.match(digest):
            raise ContainerError(f"{digest!r} is not a digest (sha256:<64 hex digits>)")
        return replace(self, digest=digest)

    def with_tag(self, tag: str) -> "Reference":
        if not _TAG.match(tag):
            raise ContainerError(f"{tag!r} is not a valid tag (letters, digits, _ . -; at most 128)")
        return replace(self, tag=tag, digest=None)


def parse(text: str) -> Reference:
    """Parse an image reference; a ContainerError says what is wrong with one that does not."""
    problem = _problem(text)
    if problem:
        raise ContainerError(f"image reference {text!r} does not parse: {problem}")
    return _split(text)


def _problem(text: str) -> str:
    """Why `text` is not a reference ('' when it is one)."""
    if not text or text != text.strip():
        return "it is empty or has spaces around it"
    ref = _split(text)
    if not _HOST.match(ref.registry):
        return f"{ref.registry!r} is not a registry host[:port]"
    for part in ref.repository.split("/"):
        if not _COMPONENT.match(part):
            return (f"path component {part!r} must be lower-case letters and digits, "
                    "joined by '.', '_', '__' or '-'")
    if ref.tag is not None and not _TAG.match(ref.tag):
        return f"tag {ref.tag!r} must be letters, digits, '_', '.' or '-' (at most 128)"
    if ref.digest is not None and not _DIGEST.match(ref.digest):
        return f"digest {ref.digest!r} must be sha256:<64 lower-case hex digits>"
    if len(ref.name) > NAME_MAX:
        return f"the name is longer than {NAME_MAX} characters"
    return ""


def _split(text: str) -> Reference:
    """Cut a reference into its parts, without judging them."""
    rest, _, digest = text.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, _, tag = path.rpartition(":")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"   # docker's rule: official images live under library/
    return Reference(registry, path, tag, digest if "@" in text else None)
