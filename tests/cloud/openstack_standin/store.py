"""The stand-in cloud's state, shared by its endpoints and the test: the one user and project,
resources, quotas, switches, issued tokens and every request as it arrived (secrets left out)."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.recorded import Recorded  # noqa: F401 (recorded requests, shared by the stand-ins)

from .keys import md5_fingerprint
from .model import Flavor, Image, Keypair, Network, Quota, Server, new_id

SECRET_HEADERS = {"x-auth-token", "x-subject-token", "authorization", "cookie"}
SECRET_KEYS = {"password", "adminpass", "token", "private_key", "secret"}
HIDDEN = "***"


def _hide(data: Any) -> Any:
    """JSON data with every secret-looking key's text replaced."""
    if isinstance(data, dict):
        return {k: HIDDEN if k.lower() in SECRET_KEYS and not isinstance(v, (dict, list))
                else _hide(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_hide(v) for v in data]
    return data


@dataclass
class Store:
    """Everything the cloud knows; handlers run one at a time under `lock`."""

    login_user: str
    root: Path
    username: str = "mso"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    project: str = "mso-experiments"
    domain: str = "Default"
    domain_id: str = "default"
    user_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    project_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    boot_delay: float = 0.3
    deleted_visible: float = 0.2    # how long a deleted server still answers status DELETED
    quota: Quota = field(default_factory=Quota)
    quota_status: int = 403
    fates: list[str] = field(default_factory=list)
    images: dict[str, Image] = field(default_factory=dict)
    flavors: dict[str, Flavor] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)
    keypairs: dict[str, Keypair] = field(default_factory=dict)
    servers: dict[str, Server] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add_image(self, name: str) -> str:
        image = Image(new_id(), name)
        self.images[image.id] = image
        return image.id

    def add_flavor(self, name: str, vcpus: int, ram: int, disk: int) -> str:
        flavor = Flavor(str(len(self.flavors) + 1), name, vcpus, ram, disk)
        self.flavors[flavor.id] = flavor
        return flavor.id

    def add_network(self, name: str) -> str:
        network = Network(new_id(), name)
        self.networks[network.id] = network
        return network.id

    def add_keypair(self, name: str, public_key: str) -> str:
        """Register a key pair (as an import would); returns its fingerprint."""
        keypair = Keypair(name, public_key.strip(), md5_fingerprint(public_key))
        self.keypairs[name] = keypair
        return keypair.fingerprint

    def server(self, server_id: str) -> Server | None:
        """A server the API still shows: one deleted shows as DELETED for a moment only."""
        server = self.servers.get(server_id)
        if server and server.deleted and time.time() - server.deleted > self.deleted_visible:
            return None
        if server:
            server.settle(self.boot_delay)
        return server

    def live(self) -> list[Server]:
        """The servers not deleted, newest first (Nova's default order)."""
        found = [s for s in self.servers.values() if s.deleted is None]
        for server in found:
            server.settle(self.boot_delay)
        return sorted(found, key=lambda s: s.created, reverse=True)

    def usage(self) -> dict[str, int]:
        """What the live servers use of each quota."""
        live = self.live()
        return {"instances": len(live), "cores": sum(s.flavor.vcpus for s in live),
                "ram": sum(s.flavor.ram for s in live)}

    def valid(self, token: str | None) -> bool:
        return token is not None and self.tokens.get(token, 0) > time.time()

    def record(self, method: str, path: str, query: str, headers: dict[str, str],
               body: str) -> None:
        kept = {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
        self.requests.append(Recorded(method, path, query, kept, self._scrub(body)))

    def _scrub(self, body: str) -> str:
        """The body with secrets hidden: by key in JSON, and any password or token left."""
        try:
            body = json.dumps(_hide(json.loads(body))) if body else body
        except ValueError:
            pass
        for secret in [self.password, *self.tokens]:
            body = body.replace(secret, HIDDEN)
        return body
