"""Keystone v3, the little of it a client needs to sign in (docs.openstack.org/api-ref/identity/v3):
version discovery, and POST /v3/auth/tokens with the password method, the user and the project
by name (with their domain by name or id) or by id. A token is good for an hour."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import TYPE_CHECKING

from werkzeug import Response

from .model import iso
from .replies import REQUIRES_AUTH, keystone_error, reply

if TYPE_CHECKING:
    from .wsgi import Call

REGION = "RegionOne"
LIFETIME = 3600
SERVICES = (("identity", "keystone", "/identity"), ("compute", "nova", "/compute/v2.1"),
            ("image", "glance", "/image"), ("network", "neutron", "/network"))


def _version(call: Call) -> dict:
    return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{call.base}/identity/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


def versions(call: Call) -> Response:
    """GET /identity/: 300 Multiple Choices, listing v3 ("Versions")."""
    return reply({"versions": {"values": [_version(call)]}}, 300)


def version(call: Call) -> Response:
    """GET /identity/v3/."""
    return reply({"version": _version(call)})


def catalog(base: str) -> list[dict]:
    """Every service's public endpoint in RegionOne."""
    return [{"id": uuid.uuid5(uuid.NAMESPACE_URL, kind).hex, "type": kind, "name": name,
             "endpoints": [{"id": uuid.uuid5(uuid.NAMESPACE_URL, path).hex, "interface": "public",
                            "region_id": REGION, "region": REGION, "url": base + path}]}
            for kind, name, path in SERVICES]


def _bad(message: str) -> Exception:
    return keystone_error(400, message)


def _identity(call: Call) -> tuple[dict, dict | None]:
    """The password method's user, and the scope: 400 when the request is malformed."""
    try:
        auth = call.json()["auth"]
        methods = auth["identity"]["methods"]
    except (ValueError, KeyError, TypeError):
        raise _bad("Invalid input for field 'identity': 'methods' is a required property") \
            from None
    if "password" not in methods or "password" not in auth["identity"]:
        raise keystone_error(401, REQUIRES_AUTH, f"{call.base}/identity")
    user = auth["identity"]["password"].get("user")
    if not isinstance(user, dict) or "password" not in user:
        raise _bad("Invalid input for field 'identity/password/user': 'password' is a required "
                   "property")
    return user, auth.get("scope")


def _matches(named: dict, name: str, id_: str, domain_id: str, domain: str) -> bool:
    """Whether a user or project reference names this one (by id, or by name in its domain)."""
    if "id" in named:
        return named["id"] == id_
    where = named.get("domain") or {}
    return named.get("name") == name and (where.get("id") == domain_id
                                          or where.get("name") == domain)


def tokens(call: Call) -> Response:
    """POST /identity/v3/auth/tokens: 201, the token in X-Subject-Token, its body in the
    answer; 401 for a wrong user, password or project."""
    store = call.store
    user, scope = _identity(call)
    project = (scope or {}).get("project")
    if not (_matches(user, store.username, store.user_id, store.domain_id, store.domain)
            and user["password"] == store.password
            and (project is None or _matches(project, store.project, store.project_id,
                                             store.domain_id, store.domain))):
        raise keystone_error(401, REQUIRES_AUTH, f"{call.base}/identity")
    token = secrets.token_hex(32)
    store.tokens[token] = time.time() + LIFETIME
    return reply({"token": _token_body(call, store.tokens[token], scoped=project is not None)},
                 201, {"X-Subject-Token": token})


def _token_body(call: Call, expires: float, scoped: bool) -> dict:
    store = call.store
    domain = {"id": store.domain_id, "name": store.domain}
    body = {"methods": ["password"], "audit_ids": [secrets.token_urlsafe(16)],
            "issued_at": iso(time.time()).replace("Z", ".000000Z"),
            "expires_at": iso(expires).replace("Z", ".000000Z"),
            "user": {"id": store.user_id, "name": store.username, "domain": domain,
                     "password_expires_at": None}}
    if scoped:
        body.update(project={"id": store.project_id, "name": store.project, "domain": domain},
                    is_domain=False, catalog=catalog(call.base),
                    roles=[{"id": uuid.uuid5(uuid.NAMESPACE_URL, r).hex, "name": r}
                           for r in ("member", "reader")])
    return body
