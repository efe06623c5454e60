"""Nova's servers (docs.openstack.org/api-ref/compute, "Servers (servers)"): create, list (the
`name`, `status`, `tags`, `tags-any`, `not-tags`, `not-tags-any` filters), show and delete.
A created server answers 202 at once and stays BUILD until the boot delay has passed and its
sshd accepts connections; an over-quota create is refused before anything starts."""

from __future__ import annotations

import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from werkzeug import Response

from .machine import Machine
from .model import Flavor, Network, Server, new_id
from .replies import Refusal, nova_error, reply
from .server_view import brief, detail, links

if TYPE_CHECKING:
    from .store import Store
    from .wsgi import Call

TAG = re.compile(r"^[^/,]{1,60}$")
MAX_TAGS, MAX_METADATA = 50, 128
# the create request's fields, and the microversion that brings each one in
FIELDS = {"name": "2.1", "imageRef": "2.1", "flavorRef": "2.1", "networks": "2.1",
          "key_name": "2.1", "metadata": "2.1", "security_groups": "2.1", "user_data": "2.1",
          "availability_zone": "2.1", "config_drive": "2.1", "min_count": "2.1",
          "max_count": "2.1", "accessIPv4": "2.1", "accessIPv6": "2.1", "adminPass": "2.1",
          "OS-DCF:diskConfig": "2.1", "block_device_mapping_v2": "2.1", "return_reservation_id":
          "2.1", "description": "2.19", "tags": "2.52", "hostname": "2.90"}


def invalid(field: str, value: Any, why: str) -> Refusal:
    """Nova's answer to a request its JSON schema refuses."""
    return nova_error(400, f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def request_object(call: Call, key: str) -> dict:
    """The body's object under `key` (400 when the body is no JSON or lacks it)."""
    try:
        data = call.json()
    except ValueError:
        raise nova_error(400, "Malformed request body") from None
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise invalid(key, data, f"'{key}' is a required property")
    return data[key]


def lookup(store: Store, server_id: str) -> Server:
    server = store.server(server_id)
    if server is None:
        raise nova_error(404, f"Instance {server_id} could not be found.")
    return server


def check_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list) or len(tags) > MAX_TAGS or not all(
            isinstance(t, str) and TAG.match(t) for t in tags):
        raise invalid("tags", tags, f"Tags must be at most {MAX_TAGS} strings of 1 to 60 "
                                    "characters without '/' and ','.")
    return list(dict.fromkeys(tags))


def check_metadata(metadata: Any) -> dict[str, str]:
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 255 and len(v) <= 255
            for k, v in metadata.items()):
        raise invalid("metadata", metadata, "Metadata keys and values must be strings of at "
                                            "most 255 characters.")
    if len(metadata) > MAX_METADATA:
        raise nova_error(403, f"Maximum number of metadata items exceeds {MAX_METADATA}")
    return dict(metadata)


def _fields(call: Call, spec: dict) -> None:
    for key in spec:
        if key not in FIELDS or not call.at_least(FIELDS[key]):
            raise invalid("server", spec, f"Additional properties are not allowed ('{key}' "
                                          "was unexpected)")
    for key in ("name", "flavorRef") + (("networks",) if call.at_least("2.37") else ()):
        if key not in spec:
            raise invalid("server", spec, f"'{key}' is a required property")
    if not isinstance(spec["name"], str) or not spec["name"].strip() or len(spec["name"]) > 255:
        raise invalid("server/name", spec["name"], "The name must be 1 to 255 characters.")


def _networks(store: Store, wanted: Any) -> list[Network]:
    """The networks asked for: a list of {"uuid": ...}, or "auto" (the first one), or "none"."""
    if wanted in (None, "auto"):
        return list(store.networks.values())[:1]
    if wanted == "none":
        return []
    if not isinstance(wanted, list) or not all(isinstance(n, dict) for n in wanted):
        raise invalid("networks", wanted, "networks must be a list, 'auto' or 'none'.")
    for network in wanted:
        if network.get("uuid") not in store.networks:
            raise nova_error(400, f"Network {network.get('uuid')} could not be found.")
    return [store.networks[n["uuid"]] for n in wanted]


def _quota(store: Store, flavor: Flavor) -> None:
    """Refuse a server over a quota: 403 forbidden as Nova does now, or 413 overLimit (with
    Retry-After: 0) as it did before; the first quota exceeded is named."""
    used, wanted = store.usage(), {"instances": 1, "cores": flavor.vcpus, "ram": flavor.ram}
    for resource in ("instances", "cores", "ram"):
        allowed = getattr(store.quota, resource)
        if 0 <= allowed < used[resource] + wanted[resource]:
            message = (f"Quota exceeded for {resource}: Requested {wanted[resource]}, but "
                       f"already used {used[resource]} of {allowed} {resource}")
            if store.quota_status == 413:
                raise nova_error(413, message, {"Retry-After": "0"})
            raise nova_error(403, message)


def create(call: Call) -> Response:
    """POST /servers: 202 with the new server's id."""
    store, spec = call.store, request_object(call, "server")
    _fields(call, spec)
    image_id = str(spec.get("imageRef") or "").rstrip("/").rsplit("/", 1)[-1]
    flavor_id = str(spec["flavorRef"]).rstrip("/").rsplit("/", 1)[-1]
    if image_id not in store.images:
        raise nova_error(400, f"Image {image_id} could not be found.")
    if flavor_id not in store.flavors:
        raise nova_error(400, f"Flavor {flavor_id} could not be found.")
    networks = _networks(store, spec.get("networks"))
    key_name = spec.get("key_name")
    if key_name is not None and key_name not in store.keypairs:
        raise nova_error(400, "Invalid key_name provided.")
    server = Server(new_id(), spec["name"], store.flavors[flavor_id], store.images[image_id],
                    networks, key_name, check_metadata(spec.get("metadata", {})),
                    check_tags(spec.get("tags", [])))
    _quota(store, server.flavor)
    server.fate = store.fates.pop(0) if store.fates else ""
    if not server.fate:
        key = store.keypairs[key_name].public_key if key_name else None
        server.machine = Machine.boot(store.root / server.id, store.login_user, key)
        server.metadata["ssh_port"] = str(server.machine.port)
    store.servers[server.id] = server
    return reply({"server": {"id": server.id, "links": links(call, "servers", server.id),
                             "OS-DCF:diskConfig": "MANUAL", "adminPass": secrets.token_urlsafe(9),
                             "security_groups": [{"name": "default"}]}}, 202)


def _tagged(server: Server, args: dict) -> bool:
    """Whether a server passes the tag filters (each a comma-separated list)."""
    tags = set(server.tags)
    want = {key: set(args[key].split(",")) for key in
            ("tags", "tags-any", "not-tags", "not-tags-any") if args.get(key)}
    return (want.get("tags", set()) <= tags
            and ("tags-any" not in want or bool(want["tags-any"] & tags))
            and ("not-tags" not in want or not want["not-tags"] <= tags)
            and not want.get("not-tags-any", set()) & tags)


def _listed(call: Call) -> list[Server]:
    args, found = call.request.args, call.store.live()
    if args.get("name"):
        try:
            pattern = re.compile(args["name"])
        except re.error:
            pattern = re.compile(re.escape(args["name"]))
        found = [s for s in found if pattern.search(s.name)]
    if args.get("status"):
        found = [s for s in found if s.status == args["status"].upper()]
    if call.at_least("2.26"):
        found = [s for s in found if _tagged(s, args)]
    limit = args.get("limit", type=int)
    return found[:limit] if limit is not None else found


def index(call: Call) -> Response:
    """GET /servers: id, name and links of each."""
    return reply({"servers": [brief(call, s) for s in _listed(call)]})


def index_detail(call: Call) -> Response:
    """GET /servers/detail: each server in full."""
    return reply({"servers": [detail(call, s) for s in _listed(call)]})


def show(call: Call, server_id: str) -> Response:
    """GET /servers/{id}: the server; a deleted one shows DELETED for a moment, then 404."""
    return reply({"server": detail(call, lookup(call.store, server_id))})


def delete(call: Call, server_id: str) -> Response:
    """DELETE /servers/{id}: 204; its machine is halted (sshd and all its processes)."""
    server = lookup(call.store, server_id)
    if server.deleted:
        raise nova_error(404, f"Instance {server_id} could not be found.")
    destroy(server)
    return reply(None, 204)


def destroy(server: Server) -> None:
    if server.machine:
        server.machine.halt()
    server.vm_state, server.deleted = "deleted", time.time()
    server.updated = server.deleted
