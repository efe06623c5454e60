"""JSON answers and each service's error body, as its API reference shows them.

    Nova      {"itemNotFound": {"code": 404, "message": ...}} (the key by status, as nova's
              wsgi Fault names it; computeFault for the rest)
    Keystone  {"error": {"code": 401, "title": "Unauthorized", "message": ...}}
              (keystonemiddleware answers a missing or bad token in every service this way)
    Glance    {"code": "404 Not Found", "title": "Not Found", "message": ...} (webob's JSON)
    Neutron   {"NeutronError": {"type": "NetworkNotFound", "message": ..., "detail": ""}}
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug import Response

NOVA_KEYS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
             405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
             429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable"}
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict",
          413: "Request Entity Too Large", 500: "Internal Server Error"}
REQUIRES_AUTH = "The request you have made requires authentication."


class Refusal(Exception):
    """An error answer, raised from deep in a handler and sent as it is."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer (an empty body when data is None, as for 204)."""
    if data is None:
        return Response(status=status, headers=headers)
    return Response(json.dumps(data), status=status, headers=headers,
                    content_type="application/json")


def nova_error(status: int, message: str, headers: dict[str, str] | None = None) -> Refusal:
    key = NOVA_KEYS.get(status, "computeFault")
    return Refusal(reply({key: {"code": status, "message": message}}, status, headers))


def keystone_error(status: int, message: str, identity_url: str = "") -> Refusal:
    headers = {"WWW-Authenticate": f'Keystone uri="{identity_url}"'} if status == 401 else None
    body = {"error": {"code": status, "title": TITLES.get(status, "Error"), "message": message}}
    return Refusal(reply(body, status, headers))


def glance_error(status: int, message: str) -> Refusal:
    title = TITLES.get(status, "Error")
    return Refusal(reply({"code": f"{status} {title}", "title": title, "message": message}, status))


def neutron_error(status: int, kind: str, message: str) -> Refusal:
    return Refusal(reply({"NeutronError": {"type": kind, "message": message, "detail": ""}},
                         status))
