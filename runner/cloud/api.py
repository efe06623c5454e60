"""The one module that talks to an OpenStack cloud, through openstacksdk (the standard client):
Keystone for the token and the catalog, Nova for servers, Glance and Neutron only to find the
image and the network by name. Every failure becomes one CloudError line that says what to do;
credentials are read from the variables the declaration names, and never printed.

A server's SSH port is 22, or what its metadata `ssh_port` says (a cloud that reaches its servers
through one forwarding address sets it; the test stand-in does). Its address is its first IPv4
address, a floating one before a fixed one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from runner.declarations.models import Infrastructure
from runner.errors import CloudError

T = TypeVar("T")
API_TIMEOUT = 60     # seconds for one request to the cloud
PORT_KEY = "ssh_port"


@dataclass(frozen=True)
class Found:
    """The ids of what a server is made from, and the flavor's vCPUs (tasks per server)."""

    image: str
    flavor: str
    network: str
    vcpus: int


@dataclass(frozen=True)
class Server:
    """A server as the cloud tells it."""

    id: str
    name: str
    status: str                     # BUILD, ACTIVE, ERROR, DELETED, ...
    address: str | None
    port: int
    metadata: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    fault: str | None = None        # why it is in ERROR, as the cloud says


class Cloud:
    """One connection to the cloud an `openstack` infrastructure declares (made on first use)."""

    def __init__(self, infra: Infrastructure) -> None:
        if infra.openstack is None:
            raise CloudError(f"{infra.path}: infrastructure '{infra.name}' declares no `openstack`")
        self.infra, self.spec = infra, infra.openstack
        self._conn: Any = None

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = self._call("connecting to the cloud", self._connect)
        return self._conn

    def _connect(self) -> Any:
        try:
            import openstack
        except ImportError:
            raise CloudError(f"{self.infra.path}: the 'openstack' backend needs openstacksdk; "
                             "install it (pip install openstacksdk)") from None
        common = {"app_name": "mso", "api_timeout": API_TIMEOUT}
        if self.spec.cloud:   # where openstacksdk looks, $OS_CLIENT_CONFIG_FILE first
            conn = openstack.connect(cloud=self.spec.cloud, **common)
        else:                 # only the variables the declaration names
            conn = openstack.connect(load_yaml_config=False, load_envvars=False, **common,
                                     **self._auth())
        conn.authorize()   # a refused credential fails here, with what to do
        return conn

    def _auth(self) -> dict[str, str]:
        """openstacksdk's arguments from the OS_* variables the declaration names (OS_AUTH_URL
        gives auth_url ...); a variable unset is named."""
        missing = [v for v in self.spec.auth if not os.environ.get(v, "").strip()]
        if missing:
            raise CloudError(f"{self.infra.path}: set {', '.join(missing)} (named in "
                             f"openstack.auth of '{self.infra.name}')")
        return {v.removeprefix("OS_").lower(): os.environ[v].strip() for v in self.spec.auth}

    def find(self) -> Found:
        """The image, flavor, network and key pair the declaration names; one line for the
        first one the cloud does not have."""
        s, c = self.spec, self.conn
        image = self._find("image", s.image, c.image.find_image)
        flavor = self._find("flavor", s.flavor, c.compute.find_flavor)
        network = self._find("network", s.network, c.network.find_network)
        self._find("key pair", s.key_pair, c.compute.find_keypair)
        return Found(image.id, flavor.id, network.id, int(flavor.vcpus or 1))

    def _find(self, what: str, name: str, find: Callable[..., T]) -> T:
        from openstack.exceptions import NotFoundException
        try:
            return self._call(f"looking up the {what} '{name}'",
                              lambda: find(name, ignore_missing=False), NotFoundException)
        except NotFoundException:
            raise CloudError(f"{self.infra.path}: the cloud has no {what} '{name}' "
                             f"(openstack.{what.replace(' ', '_')} of '{self.infra.name}'): "
                             f"check its name with `openstack {what.replace(' ', '')} list`"
                             ) from None

    def create(self, name: str, found: Found, tags: list[str], metadata: dict[str, str]) -> str:
        """Ask for a server; its id (it starts in BUILD)."""
        server = self._call(f"creating the server {name}", lambda: self.conn.compute.create_server(
            name=name, image_id=found.image, flavor_id=found.flavor,
            networks=[{"uuid": found.network}], key_name=self.spec.key_pair,
            tags=tags, metadata=metadata))
        return server.id

    def server(self, server_id: str) -> Server | None:
        """The server now; None once it is gone."""
        from openstack.exceptions import NotFoundException
        try:
            got = self._call(f"asking for the server {server_id}",
                             lambda: self.conn.compute.get_server(server_id), NotFoundException)
        except NotFoundException:
            return None
        return _view(got)

    def tagged(self, tag: str) -> list[Server]:
        """Every server carrying the tag (one request)."""
        return self._call(f"listing the servers tagged {tag}",
                          lambda: [_view(s) for s in self.conn.compute.servers(tags=tag)])

    def console(self, server_id: str) -> str:
        """The server's console output (cloud-init prints the SSH host keys there)."""
        out = self._call(f"reading the console of {server_id}",
                         lambda: self.conn.compute.get_server_console_output(server_id))
        return (out or {}).get("output") or ""

    def set_metadata(self, server_id: str, **items: str) -> None:
        self._call(f"updating the server {server_id}",
                   lambda: self.conn.compute.set_server_metadata(server_id, **items))

    def retag(self, server_id: str, add: str, remove: str) -> None:
        """Move a server from one tag to another (a warm server given to a new run)."""
        def move() -> None:
            self.conn.compute.add_tag_to_server(server_id, add)
            self.conn.compute.remove_tag_from_server(server_id, remove)
        self._call(f"tagging the server {server_id}", move)

    def delete(self, server_id: str) -> None:
        """Delete a server (one that is gone already is fine)."""
        self._call(f"deleting the server {server_id}",
                   lambda: self.conn.compute.delete_server(server_id, ignore_missing=True))

    def _call(self, what: str, fn: Callable[[], T], *passing: type[BaseException]) -> T:
        """fn(), its openstacksdk and keystoneauth failures as one CloudError line."""
        from keystoneauth1 import exceptions as ka
        from openstack import exceptions as sdk
        try:
            return fn()
        except passing:
            raise
        except sdk.HttpException as exc:
            raise CloudError(f"{self.infra.name}: {what}: {_http_message(exc)}") from None
        except (sdk.SDKException, ka.ClientException) as exc:
            if getattr(exc, "http_status", None) == 401 or "(HTTP 401)" in str(exc):
                raise CloudError(f"{self.infra.name}: {what}: the cloud refused the credentials: "
                                 "check the clouds.yaml entry or the OS_* variables") from None
            raise CloudError(f"{self.infra.name}: {what}: {_plain_message(exc)}") from None


def _http_message(exc: Any) -> str:
    """What the cloud answered, and what to do about it."""
    code = getattr(exc, "status_code", None)
    said = str(getattr(exc, "details", None) or "").strip() or f"HTTP {code}"
    if code == 401:
        return (f"the cloud refused the credentials ({said}): check the clouds.yaml entry or the "
                "OS_* variables")
    if code == 413 or (code == 403 and "quota" in said.lower()):
        return f"over the project's quota ({said}): free some, or ask for fewer servers"
    if code == 403:
        return f"not allowed ({said})"
    return f"{said} (HTTP {code})"


def _plain_message(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if "auth_url" in text or "Auth plugin" in text:
        return (f"{text}: the cloud's credentials are incomplete (a clouds.yaml entry, or the "
                "OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME ... variables)")
    return text or type(exc).__name__


def _view(s: Any) -> Server:
    metadata = {str(k): str(v) for k, v in (s.metadata or {}).items()}
    fault = s.fault.get("message") if isinstance(s.fault, dict) else None
    port = metadata.get(PORT_KEY, "22")
    return Server(s.id, s.name or "", str(s.status or "").upper(), _address(s),
                  int(port) if port.isdigit() else 22, metadata, tuple(s.tags or ()), fault)


def _address(s: Any) -> str | None:
    """The server's IPv4 address: accessIPv4, else a floating one, else a fixed one."""
    if s.access_ipv4:
        return s.access_ipv4
    found: list[tuple[int, str]] = []
    for entries in (s.addresses or {}).values():
        for e in entries:
            if e.get("version", 4) == 4 and e.get("addr"):
                found.append((0 if e.get("OS-EXT-IPS:type") == "floating" else 1, e["addr"]))
    return min(found)[1] if found else None
