"""A server's tags (2.26+), metadata and console output (api-ref/compute: "Server Tags",
"Server Metadata", "Show Console Output (os-getConsoleOutput Action)"). Tags and metadata are
changed only while the server is ACTIVE (Nova: vm_state active, paused, suspended or stopped),
else 409 "Cannot 'update tags' instance ID while it is in vm_state building"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug import Response

from .console import boot_lines, tail
from .model import Server
from .replies import nova_error, reply
from .server_view import hostname
from .servers import check_metadata, check_tags, invalid, lookup, request_object

if TYPE_CHECKING:
    from .wsgi import Call


def _tagged_server(call: Call, server_id: str) -> Server:
    """The server, for a tag route: those exist from 2.26 only."""
    if not call.at_least("2.26"):
        raise nova_error(404, "The resource could not be found.")
    return lookup(call.store, server_id)


def _changeable(call: Call, server_id: str, action: str, tags: bool = False) -> Server:
    server = _tagged_server(call, server_id) if tags else lookup(call.store, server_id)
    if server.vm_state != "active":
        raise nova_error(409, f"Cannot '{action}' instance {server_id} while it is in "
                              f"vm_state {server.vm_state}")
    return server


def tags(call: Call, server_id: str) -> Response:
    """GET /servers/{id}/tags."""
    return reply({"tags": list(_tagged_server(call, server_id).tags)})


def replace_tags(call: Call, server_id: str) -> Response:
    """PUT /servers/{id}/tags {"tags": [...]}: all of them replaced."""
    server = _changeable(call, server_id, "update tags", tags=True)
    try:
        wanted = call.json()["tags"]
    except (ValueError, KeyError, TypeError):
        raise invalid("tags", call.text, "'tags' is a required property") from None
    server.tags = check_tags(wanted)
    return reply({"tags": list(server.tags)})


def delete_tags(call: Call, server_id: str) -> Response:
    """DELETE /servers/{id}/tags: 204."""
    _changeable(call, server_id, "delete tags", tags=True).tags = []
    return reply(None, 204)


def check_tag(call: Call, server_id: str, tag: str) -> Response:
    """GET /servers/{id}/tags/{tag}: 204 if it has it, else 404."""
    if tag not in _tagged_server(call, server_id).tags:
        raise nova_error(404, f"Server {server_id} has no tag '{tag}'")
    return reply(None, 204)


def add_tag(call: Call, server_id: str, tag: str) -> Response:
    """PUT /servers/{id}/tags/{tag}: 201 with its Location, or 204 if it was there."""
    server = _changeable(call, server_id, "update tag", tags=True)
    if tag in server.tags:
        return reply(None, 204)
    server.tags = check_tags([*server.tags, tag])
    return reply(None, 201, {"Location": f"{call.base}/compute/v2.1/servers/{server_id}"
                                         f"/tags/{tag}"})


def remove_tag(call: Call, server_id: str, tag: str) -> Response:
    """DELETE /servers/{id}/tags/{tag}: 204, or 404 if it had none such."""
    server = _changeable(call, server_id, "delete tag", tags=True)
    if tag not in server.tags:
        raise nova_error(404, f"Instance {server_id} has no tag '{tag}'")
    server.tags.remove(tag)
    return reply(None, 204)


def metadata(call: Call, server_id: str) -> Response:
    """GET /servers/{id}/metadata."""
    return reply({"metadata": dict(lookup(call.store, server_id).metadata)})


def update_metadata(call: Call, server_id: str) -> Response:
    """POST /servers/{id}/metadata: merged into what is there (PUT: replaces it all)."""
    server = _changeable(call, server_id, "update metadata")
    items = check_metadata(request_object(call, "metadata"))
    merged = {**server.metadata, **items} if call.request.method == "POST" else items
    server.metadata = check_metadata(merged)
    return reply({"metadata": dict(server.metadata)})


def metadata_item(call: Call, server_id: str, key: str) -> Response:
    """GET /servers/{id}/metadata/{key}: {"meta": {key: value}}."""
    server = lookup(call.store, server_id)
    if key not in server.metadata:
        raise nova_error(404, "Metadata item was not found")
    return reply({"meta": {key: server.metadata[key]}})


def set_metadata_item(call: Call, server_id: str, key: str) -> Response:
    """PUT /servers/{id}/metadata/{key} {"meta": {key: value}}."""
    server = _changeable(call, server_id, "update metadata")
    meta = check_metadata(request_object(call, "meta"))
    if len(meta) > 1:
        raise nova_error(400, "Request body contains too many items")
    if key not in meta:
        raise nova_error(400, "Request body and URI mismatch")
    server.metadata = check_metadata({**server.metadata, **meta})
    return reply({"meta": meta})


def delete_metadata_item(call: Call, server_id: str, key: str) -> Response:
    """DELETE /servers/{id}/metadata/{key}: 204, or 404 if it had none such."""
    server = _changeable(call, server_id, "delete metadata")
    if key not in server.metadata:
        raise nova_error(404, "Metadata item was not found")
    del server.metadata[key]
    return reply(None, 204)


def action(call: Call, server_id: str) -> Response:
    """POST /servers/{id}/action: os-getConsoleOutput only."""
    server = lookup(call.store, server_id)
    try:
        body = call.json()
        name, = body
    except (ValueError, TypeError):
        raise nova_error(400, "Malformed request body") from None
    if name != "os-getConsoleOutput":
        raise nova_error(404, f"There is no such action: {name}")
    return console_output(call, server, body[name] or {})


def console_output(call: Call, server: Server, args: dict) -> Response:
    """The last `length` lines of the console (all without it); 409 for a server never
    scheduled to a host."""
    length = args.get("length")
    try:
        length = None if length is None else int(length)
    except (TypeError, ValueError):
        length = -2
    if length is not None and length < -1:
        raise invalid("length", args.get("length"), "length must be an integer >= -1.")
    if not server.on_host:
        raise nova_error(409, f"Instance {server.id} is not ready")
    host_key = server.machine.host_key if server.machine else None
    lines = boot_lines(hostname(server.name), host_key, server.vm_state == "active")
    return reply({"output": tail(lines, length)})
