"""Version discovery of compute, image and network, and Nova's microversion negotiation
(docs.openstack.org/api-guide/compute/microversions.html): a request names its version in
`OpenStack-API-Version: compute 2.X` or the older `X-OpenStack-Nova-API-Version: 2.X` (none: 2.1,
`latest`: the maximum); the answer names it in both headers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from werkzeug import Response

from .replies import nova_error, reply

if TYPE_CHECKING:
    from .wsgi import Call

MIN_VERSION, MAX_VERSION = (2, 1), (2, 96)
VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


def _text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def requested(headers: dict) -> str | None:
    """The compute version a request asks for, the newer header first."""
    for part in (headers.get("OpenStack-API-Version") or "").split(","):
        service, _, version = part.strip().partition(" ")
        if service.lower() == "compute":
            return version.strip()
    return headers.get("X-OpenStack-Nova-API-Version")


def negotiate(headers: dict) -> tuple[int, int]:
    """The microversion to answer in: 400 for a malformed one, 406 for one out of range."""
    text = requested(headers)
    if not text:
        return MIN_VERSION
    if text.lower() == "latest":
        return MAX_VERSION
    found = VERSION.match(text)
    if not found:
        raise nova_error(400, f"API Version String {text} is of invalid format. Must be of "
                              "format MajorNum.MinorNum.")
    version = (int(found[1]), int(found[2]))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise nova_error(406, f"Version {text} is not supported by the API. Minimum is "
                              f"{_text(MIN_VERSION)} and maximum is {_text(MAX_VERSION)}.")
    return version


def version_headers(version: tuple[int, int]) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {_text(version)}",
            "X-OpenStack-Nova-API-Version": _text(version),
            "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"}


def _compute(call: Call) -> dict:
    return {"id": "v2.1", "status": "CURRENT", "version": _text(MAX_VERSION),
            "min_version": _text(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{call.base}/compute/v2.1/"}]}


def compute_versions(call: Call) -> Response:
    """GET /compute/: the versions (docs.openstack.org/api-ref/compute, "List All Major
    Versions")."""
    return reply({"versions": [_compute(call)]})


def compute_version(call: Call) -> Response:
    """GET /compute/v2.1/: this version, with its microversion range ("Show Details of
    Specific API Version")."""
    media = [{"base": "application/json",
              "type": "application/vnd.openstack.compute+json;version=2.1"}]
    return reply({"version": {**_compute(call), "media-types": media}})


def image_versions(call: Call) -> Response:
    """GET /image/: Glance's versions, 300 Multiple Choices (api-ref/image/versions)."""
    versions = [{"id": f"v2.{minor}", "status": "CURRENT" if minor == 16 else "SUPPORTED",
                 "links": [{"rel": "self", "href": f"{call.base}/image/v2/"}]}
                for minor in (16, 15, 9, 0)]
    return reply({"versions": versions}, 300)


def network_versions(call: Call) -> Response:
    """GET /network/: Neutron's one version (api-ref/network, "List API versions")."""
    return reply({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": f"{call.base}/network/v2.0/"}]}]})
