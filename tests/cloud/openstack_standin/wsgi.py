"""The stand-in's HTTP side: one werkzeug app on 127.0.0.1 serving every service under its own
path (/identity, /compute/v2.1, /image, /network, as devstack lays them out), served by
werkzeug's server in a daemon thread. Each request is recorded, then needs a valid X-Auth-Token
(version discovery and POST /identity/v3/auth/tokens excepted, as keystonemiddleware leaves
them open), then compute's microversion is negotiated, then its handler answers under the lock."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from werkzeug import Request, Response
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server

from .replies import REQUIRES_AUTH, Refusal, glance_error, keystone_error, neutron_error, nova_error
from .store import Store
from .versions import negotiate, version_headers


@dataclass(frozen=True)
class Route:
    """One endpoint: a werkzeug rule, its method, its handler and its service."""

    path: str
    method: str
    handler: Callable[..., Response]
    service: str                 # identity, compute, image or network
    public: bool = False         # answered without a token


@dataclass
class Call:
    """What a handler gets: the cloud's state, the request and compute's microversion."""

    store: Store
    request: Request
    text: str
    microversion: tuple[int, int] = (2, 1)

    def at_least(self, version: str) -> bool:
        major, minor = version.split(".")
        return self.microversion >= (int(major), int(minor))

    @property
    def base(self) -> str:
        """The cloud's root URL, as the client reached it."""
        return self.request.host_url.rstrip("/")

    def json(self) -> Any:
        """The JSON body; ValueError if it is none."""
        return json.loads(self.text)


def not_found(service: str, method_allowed: bool = True) -> Refusal:
    """What each service answers for a path it does not know (405 for a known path's other
    method)."""
    status = 404 if method_allowed else 405
    message = "The resource could not be found." if status == 404 else "Method not allowed."
    if service == "compute":
        return nova_error(status, message)
    if service == "image":
        return glance_error(status, message)
    if service == "network":
        return neutron_error(status, "HTTPNotFound" if status == 404 else "HTTPMethodNotAllowed",
                             message)
    return keystone_error(status, message)


def _failed(service: str, error: Exception) -> Refusal:
    logging.getLogger(__name__).exception("OpenStack stand-in failed")
    message = f"The OpenStack stand-in failed: {error}"
    if service == "compute":
        return nova_error(500, message)
    if service == "image":
        return glance_error(500, message)
    if service == "network":
        return neutron_error(500, "HTTPInternalServerError", message)
    return keystone_error(500, message)


class App:
    """The WSGI app: routes every request to its handler."""

    def __init__(self, store: Store, routes: list[Route]) -> None:
        self.store, self.routes = store, routes
        self.urls = Map([Rule(r.path, endpoint=i, methods=[r.method])
                         for i, r in enumerate(routes)], strict_slashes=False)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        text = request.get_data(as_text=True)
        with self.store.lock:
            self.store.record(request.method, request.path, request.query_string.decode(),
                              dict(request.headers), text)
            response = self.answer(Call(self.store, request, text))
        return response(environ, start_response)

    def answer(self, call: Call) -> Response:
        service = call.request.path.strip("/").split("/")[0]
        try:
            route, args = self._route(call.request, service)
            if not route.public and not self.store.valid(call.request.headers.get("X-Auth-Token")):
                raise keystone_error(401, REQUIRES_AUTH, f"{call.base}/identity")
            if route.service == "compute":
                call.microversion = negotiate(call.request.headers)
            response = route.handler(call, **args)
        except Refusal as refusal:
            response = refusal.response
        except Exception as error:   # a stand-in fault (sshd would not start): the client's 500
            response = _failed(service, error).response
        if service == "compute":
            response.headers.update(version_headers(call.microversion))
        return response

    def _route(self, request: Request, service: str) -> tuple[Route, dict]:
        try:
            index, args = self.urls.bind_to_environ(request.environ).match()
        except MethodNotAllowed:
            raise not_found(service, method_allowed=False) from None
        except NotFound:
            raise not_found(service) from None
        return self.routes[index], args


class Serving:
    """The app served on 127.0.0.1 (a free port) by a daemon thread."""

    def __init__(self, app: App) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)   # no access log lines
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="openstack-standin")
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
