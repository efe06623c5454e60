"""How Nova shows a server (docs.openstack.org/api-ref/compute, "Show Server Details"), field by
field as the negotiated microversion adds them: locked 2.9, description 2.19, tags 2.26, the
flavor itself instead of its id 2.47, trusted_image_certificates 2.63, server_groups 2.71,
locked_reason 2.73, OS-EXT-SRV-ATTR:hostname 2.90, pinned_availability_zone 2.96."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from .model import Flavor, Server, iso

if TYPE_CHECKING:
    from .wsgi import Call

# microversion -> the fields it adds, with their values for a stand-in server
LATER_FIELDS = (("2.9", {"locked": False}), ("2.19", {"description": None}),
                ("2.63", {"trusted_image_certificates": None}), ("2.71", {"server_groups": []}),
                ("2.73", {"locked_reason": None}), ("2.96", {"pinned_availability_zone": None}))


def links(call: Call, kind: str, id_: str) -> list[dict]:
    return [{"rel": "self", "href": f"{call.base}/compute/v2.1/{kind}/{id_}"},
            {"rel": "bookmark", "href": f"{call.base}/compute/{kind}/{id_}"}]


def brief(call: Call, server: Server) -> dict:
    """A server in GET /servers: id, name and links."""
    return {"id": server.id, "name": server.name, "links": links(call, "servers", server.id)}


def addresses(server: Server) -> dict:
    """Every network's fixed address: all stand-in servers are 127.0.0.1."""
    if not server.on_host or server.deleted:
        return {}
    return {network.name: [{"addr": "127.0.0.1", "version": 4, "OS-EXT-IPS:type": "fixed",
                            "OS-EXT-IPS-MAC:mac_addr": server.mac}]
            for network in server.networks}


def flavor_view(call: Call, flavor: Flavor) -> dict:
    if not call.at_least("2.47"):
        return {"id": flavor.id, "links": links(call, "flavors", flavor.id)[1:]}
    return {"vcpus": flavor.vcpus, "ram": flavor.ram, "disk": flavor.disk, "ephemeral": 0,
            "swap": 0, "original_name": flavor.name, "extra_specs": {}}


def hostname(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63] or "server"


def detail(call: Call, server: Server) -> dict:
    """A server in GET /servers/{id} and GET /servers/detail."""
    store, on_host = call.store, server.on_host and not server.deleted
    view = {**brief(call, server), "status": server.status, "tenant_id": store.project_id,
            "user_id": store.user_id, "metadata": dict(server.metadata),
            "hostId": hashlib.sha224(f"{store.project_id}standin".encode()).hexdigest()
            if on_host else "",
            "image": {"id": server.image.id, "links": links(call, "images", server.image.id)[1:]},
            "flavor": flavor_view(call, server.flavor), "created": iso(server.created),
            "updated": iso(server.updated), "addresses": addresses(server),
            "accessIPv4": "127.0.0.1" if on_host else "", "accessIPv6": "",
            "OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": "nova" if on_host
            else "", "config_drive": "", "key_name": server.key_name,
            "OS-SRV-USG:launched_at": iso(server.launched), "OS-SRV-USG:terminated_at":
            iso(server.deleted), "security_groups": [{"name": "default"}],
            "OS-EXT-STS:task_state": server.task_state, "OS-EXT-STS:vm_state": server.vm_state,
            "OS-EXT-STS:power_state": server.power_state,
            "os-extended-volumes:volumes_attached": []}
    if server.status in ("BUILD", "ACTIVE"):
        view["progress"] = 0
    if server.fault:
        view["fault"] = dict(server.fault)
    for version, fields in LATER_FIELDS:
        if call.at_least(version):
            view.update(fields)
    if call.at_least("2.26"):
        view["tags"] = list(server.tags)
    if call.at_least("2.90"):
        view["OS-EXT-SRV-ATTR:hostname"] = hostname(server.name)
    return view
