"""The stand-in cloud as a test drives it: credentials for clients (OS_* variables, a
clouds.yaml), what is registered, quotas and injected faults, and what happened."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .identity import REGION
from .routes import ROUTES
from .servers import destroy
from .store import Recorded, Store
from .wsgi import App, Serving

FATES = ("error", "stuck")


@dataclass(frozen=True)
class ServerInfo:
    """A live server as the test sees it (port: its sshd's, None if it has no machine)."""

    id: str
    name: str
    status: str
    tags: list[str]
    metadata: dict[str, str]
    port: int | None
    created: float
    folder: Path | None
    home: Path | None
    host_key: str | None


class Cloud:
    """A running stand-in cloud: image debian-12, flavors m1.small and m1.medium, network
    private registered; one user (a fresh password) with one project in domain Default."""

    user_domain = project_domain = "Default"
    region = REGION

    def __init__(self, login_user: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mso-openstack-"))
        self.root.chmod(0o755)        # the login user walks down to its home in each server
        self.store = Store(login_user, self.root)
        self.store.add_image("debian-12")
        self.store.add_flavor("m1.small", 1, 1024, 10)
        self.store.add_flavor("m1.medium", 2, 4096, 40)
        self.store.add_network("private")
        self.serving = Serving(App(self.store, ROUTES))

    def __enter__(self) -> Cloud:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete every server left (their sshds and processes), stop serving."""
        with self.store.lock:
            for server in self.store.servers.values():
                if server.deleted is None:
                    destroy(server)
        self.serving.close()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def auth_url(self) -> str:
        """Keystone's root (version discovery answers there)."""
        return f"{self.serving.url}/identity"

    @property
    def username(self) -> str:
        return self.store.username

    @property
    def password(self) -> str:
        return self.store.password

    @property
    def project(self) -> str:
        return self.store.project

    @property
    def login_user(self) -> str:
        """The user that logs in to every server by SSH."""
        return self.store.login_user

    def env(self) -> dict[str, str]:
        """The OS_* variables of an openrc file for this cloud."""
        return {"OS_AUTH_URL": self.auth_url, "OS_USERNAME": self.username,
                "OS_PASSWORD": self.password, "OS_PROJECT_NAME": self.project,
                "OS_USER_DOMAIN_NAME": self.user_domain,
                "OS_PROJECT_DOMAIN_NAME": self.project_domain, "OS_REGION_NAME": self.region,
                "OS_IDENTITY_API_VERSION": "3", "OS_INTERFACE": "public"}

    def auth(self) -> dict[str, str]:
        """The `auth` section of a clouds.yaml entry (openstack.connect(auth=...) takes it)."""
        return {"auth_url": self.auth_url, "username": self.username,
                "password": self.password, "project_name": self.project,
                "user_domain_name": self.user_domain, "project_domain_name": self.project_domain}

    def write_clouds_yaml(self, path: Path | str, name: str = "standin") -> Path:
        """Add (or replace) the entry `name` in the clouds.yaml at `path`; returns the path."""
        path = Path(path)
        data = yaml.safe_load(path.read_text()) if path.exists() else None
        data = data if isinstance(data, dict) else {}
        data.setdefault("clouds", {})[name] = {
            "auth": self.auth(), "region_name": self.region, "interface": "public",
            "identity_api_version": 3}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def connect(self, **options: Any) -> Any:
        """An openstacksdk connection to this cloud."""
        import openstack
        return openstack.connect(auth=self.auth(), region_name=self.region,
                                 interface="public", identity_api_version="3", **options)

    def add_image(self, name: str) -> str:
        """Register an image; returns its id."""
        with self.store.lock:
            return self.store.add_image(name)

    def add_flavor(self, name: str, vcpus: int, ram: int, disk: int) -> str:
        """Register a flavor (ram in MiB, disk in GiB); returns its id."""
        with self.store.lock:
            return self.store.add_flavor(name, vcpus, ram, disk)

    def add_network(self, name: str) -> str:
        """Register a network; returns its id."""
        with self.store.lock:
            return self.store.add_network(name)

    def add_keypair(self, name: str, public_key: str) -> str:
        """Register a key pair (an OpenSSH public key line); returns its fingerprint."""
        with self.store.lock:
            return self.store.add_keypair(name, public_key)

    def set_quota(self, instances: int | None = None, cores: int | None = None,
                  ram: int | None = None) -> None:
        """Change the quotas given (-1: unlimited); the others stay."""
        with self.store.lock:
            for name, value in (("instances", instances), ("cores", cores), ("ram", ram)):
                if value is not None:
                    setattr(self.store.quota, name, value)

    def quota_status(self, status: int) -> None:
        """How an over-quota create is refused: 403 (Nova now) or 413 (Nova before)."""
        if status not in (403, 413):
            raise ValueError(f"quota status must be 403 or 413, not {status}")
        self.store.quota_status = status

    def fail_next_build(self, mode: str) -> None:
        """The next server created goes to ERROR ("error": no valid host) or stays in BUILD
        for ever ("stuck"); neither gets a machine. Calls queue up, one per server."""
        if mode not in FATES:
            raise ValueError(f"mode must be one of {', '.join(FATES)}, not {mode!r}")
        with self.store.lock:
            self.store.fates.append(mode)

    @property
    def boot_delay(self) -> float:
        """Seconds a server stays in BUILD at least (0.3 unless set)."""
        return self.store.boot_delay

    @boot_delay.setter
    def boot_delay(self, seconds: float) -> None:
        self.store.boot_delay = seconds

    def servers(self) -> list[ServerInfo]:
        """The servers not deleted, newest first."""
        with self.store.lock:
            return [ServerInfo(s.id, s.name, s.status, list(s.tags), dict(s.metadata), s.port,
                               s.created, s.machine.folder if s.machine else None,
                               s.machine.home if s.machine else None,
                               s.machine.host_key if s.machine else None)
                    for s in self.store.live()]

    @property
    def requests(self) -> list[Recorded]:
        """Every request so far, in order (no password, no token)."""
        with self.store.lock:
            return list(self.store.requests)

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """The recorded requests with this method and a path matching this pattern."""
        return [r for r in self.requests if method in (None, r.method)
                and (path is None or re.search(path, r.path))]
