"""Nova's flavors, key pairs and limits (api-ref/compute: "Flavors", "Keypairs (keypairs)",
"Limits (limits)"). Key pairs: import a public key, or (before 2.92) have one made, whose
private key is answered once; the fingerprint is MD5, colon-separated, as Nova shows it."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from werkzeug import Response

from .keys import new_keypair
from .model import Flavor, Keypair, iso
from .replies import nova_error, reply
from .server_view import links
from .servers import invalid, request_object

if TYPE_CHECKING:
    from .wsgi import Call


def _flavor(call: Call, flavor: Flavor, full: bool) -> dict:
    view = {"id": flavor.id, "name": flavor.name, "links": links(call, "flavors", flavor.id)}
    if call.at_least("2.55"):
        view["description"] = None
    if not full:
        return view
    view.update({"ram": flavor.ram, "vcpus": flavor.vcpus, "disk": flavor.disk,
                 "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 0 if call.at_least("2.75") else "",
                 "rxtx_factor": 1.0, "os-flavor-access:is_public": True,
                 "OS-FLV-DISABLED:disabled": False})
    if call.at_least("2.61"):
        view["extra_specs"] = {}
    return view


def flavors(call: Call) -> Response:
    """GET /flavors: id, name and links of each."""
    return reply({"flavors": [_flavor(call, f, False) for f in call.store.flavors.values()]})


def flavors_detail(call: Call) -> Response:
    """GET /flavors/detail: each flavor in full."""
    return reply({"flavors": [_flavor(call, f, True) for f in call.store.flavors.values()]})


def flavor(call: Call, flavor_id: str) -> Response:
    """GET /flavors/{id}."""
    found = call.store.flavors.get(flavor_id)
    if found is None:
        raise nova_error(404, f"Flavor {flavor_id} could not be found.")
    return reply({"flavor": _flavor(call, found, True)})


def extra_specs(call: Call, flavor_id: str) -> Response:
    """GET /flavors/{id}/os-extra_specs: none on a stand-in flavor."""
    if flavor_id not in call.store.flavors:
        raise nova_error(404, f"Flavor {flavor_id} could not be found.")
    return reply({"extra_specs": {}})


def _keypair(call: Call, keypair: Keypair, full: bool) -> dict:
    view = {"name": keypair.name, "public_key": keypair.public_key,
            "fingerprint": keypair.fingerprint}
    if call.at_least("2.2"):
        view["type"] = keypair.type
    if full:
        view.update(user_id=call.store.user_id, id=zlib.crc32(keypair.name.encode()) % 10**6,
                    created_at=iso(keypair.created), updated_at=None, deleted=False,
                    deleted_at=None)
    return view


def keypairs(call: Call) -> Response:
    """GET /os-keypairs: [{"keypair": {...}}, ...]."""
    return reply({"keypairs": [{"keypair": _keypair(call, k, False)}
                               for k in call.store.keypairs.values()]})


def keypair(call: Call, name: str) -> Response:
    """GET /os-keypairs/{name}."""
    found = call.store.keypairs.get(name)
    if found is None:
        raise nova_error(404, f"Keypair {name} not found for user {call.store.user_id}")
    return reply({"keypair": _keypair(call, found, True)})


def create_keypair(call: Call) -> Response:
    """POST /os-keypairs: 201 (200 before 2.2); 409 if the name is taken."""
    spec, store = request_object(call, "keypair"), call.store
    name = spec.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= 255:
        raise invalid("name", name, "'name' is a required property")
    if name in store.keypairs:
        raise nova_error(409, f"Key pair '{name}' already exists.")
    private = None
    if "public_key" not in spec:
        if call.at_least("2.92"):
            raise invalid("keypair", spec, "'public_key' is a required property")
        private, spec["public_key"] = new_keypair(name)
    try:
        store.add_keypair(name, str(spec["public_key"]))
    except ValueError:
        raise nova_error(400, "Keypair data is invalid: failed to generate fingerprint") \
            from None
    store.keypairs[name].type = spec.get("type", "ssh")
    view = {**_keypair(call, store.keypairs[name], False), "user_id": store.user_id}
    if private:
        view["private_key"] = private
    return reply({"keypair": view}, 201 if call.at_least("2.2") else 200)


def delete_keypair(call: Call, name: str) -> Response:
    """DELETE /os-keypairs/{name}: 202 (204 from 2.2)."""
    if call.store.keypairs.pop(name, None) is None:
        raise nova_error(404, f"Keypair {name} not found for user {call.store.user_id}")
    return reply(None, 204 if call.at_least("2.2") else 202)


def limits(call: Call) -> Response:
    """GET /limits: the absolute limits and what is used of them (-1: unlimited)."""
    quota, used = call.store.quota, call.store.usage()
    absolute = {"maxTotalInstances": quota.instances, "totalInstancesUsed": used["instances"],
                "maxTotalCores": quota.cores, "totalCoresUsed": used["cores"],
                "maxTotalRAMSize": quota.ram, "totalRAMUsed": used["ram"],
                "maxServerMeta": 128, "maxTotalKeypairs": 100, "maxServerGroups": 10,
                "maxServerGroupMembers": 10, "totalServerGroupsUsed": 0}
    if not call.at_least("2.57"):
        absolute.update(maxPersonality=5, maxPersonalitySize=10240)
    if not call.at_least("2.39"):
        absolute["maxImageMeta"] = 128
    if not call.at_least("2.36"):
        absolute.update(maxTotalFloatingIps=10, totalFloatingIpsUsed=0, maxSecurityGroups=10,
                        totalSecurityGroupsUsed=0, maxSecurityGroupRules=20)
    return reply({"limits": {"rate": [], "absolute": absolute}})
