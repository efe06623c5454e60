"""Glance v2 images and Neutron v2.0 networks, looked up only (api-ref/image/v2: "List images",
"Show image"; api-ref/network/v2: "List networks", "Show network details"). Lists take the
`name` filter (exact); an unknown id is Glance's or Neutron's 404."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug import Response

from .model import Image, Network, iso
from .replies import glance_error, neutron_error, reply

if TYPE_CHECKING:
    from .wsgi import Call


def _image(image: Image) -> dict:
    return {"id": image.id, "name": image.name, "status": "active", "visibility": "public",
            "protected": False, "os_hidden": False, "container_format": "bare",
            "disk_format": "qcow2", "size": 348_127_232, "virtual_size": 2_147_483_648,
            "min_disk": 0, "min_ram": 0, "owner": None, "tags": [], "checksum": None,
            "os_hash_algo": None, "os_hash_value": None, "os_distro": "debian",
            "os_version": "12", "created_at": iso(image.created),
            "updated_at": iso(image.created), "self": f"/v2/images/{image.id}",
            "file": f"/v2/images/{image.id}/file", "schema": "/v2/schemas/image"}


def images(call: Call) -> Response:
    """GET /image/v2/images: {"images": [...], "first", "schema"} (filters name, os_hidden)."""
    name = call.request.args.get("name")
    if call.request.args.get("os_hidden") == "true":     # no stand-in image is hidden
        return reply({"images": [], "first": "/v2/images", "schema": "/v2/schemas/images"})
    found = [_image(i) for i in call.store.images.values() if name in (None, i.name)]
    return reply({"images": found, "first": "/v2/images", "schema": "/v2/schemas/images"})


def image(call: Call, image_id: str) -> Response:
    """GET /image/v2/images/{id}: the image itself (no envelope)."""
    found = call.store.images.get(image_id)
    if found is None:
        raise glance_error(404, f"No image found with ID {image_id}")
    return reply(_image(found))


def _network(call: Call, network: Network) -> dict:
    project = call.store.project_id
    return {"id": network.id, "name": network.name, "status": "ACTIVE", "admin_state_up": True,
            "subnets": [], "shared": False, "tenant_id": project, "project_id": project,
            "mtu": 1450, "router:external": False, "port_security_enabled": True,
            "availability_zones": ["nova"], "availability_zone_hints": [],
            "ipv4_address_scope": None, "ipv6_address_scope": None, "description": "",
            "tags": [], "revision_number": 1, "created_at": iso(network.created),
            "updated_at": iso(network.created), "l2_adjacency": True, "is_default": False}


def networks(call: Call) -> Response:
    """GET /network/v2.0/networks: {"networks": [...]}."""
    name = call.request.args.get("name")
    return reply({"networks": [_network(call, n) for n in call.store.networks.values()
                               if name in (None, n.name)]})


def network(call: Call, network_id: str) -> Response:
    """GET /network/v2.0/networks/{id}: {"network": {...}}."""
    found = call.store.networks.get(network_id)
    if found is None:
        raise neutron_error(404, "NetworkNotFound", f"Network {network_id} could not be found.")
    return reply({"network": _network(call, found)})
