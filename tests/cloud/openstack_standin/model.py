"""The stand-in cloud's resources: flavors, images, networks, key pairs, servers and quotas."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from .machine import Machine

# Nova's status for each vm_state (api-ref "Server Status"), task and power state while in it
STATUS = {"building": "BUILD", "active": "ACTIVE", "error": "ERROR", "deleted": "DELETED"}
POWER = {"active": 1}                   # RUNNING; NOSTATE (0) otherwise
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


def new_id() -> str:
    return str(uuid.uuid4())


def iso(stamp: float | None) -> str | None:
    """A time as Nova and Glance write it: 2026-01-01T00:00:00Z."""
    return None if stamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


@dataclass
class Flavor:
    id: str
    name: str
    vcpus: int
    ram: int        # MiB
    disk: int       # GiB


@dataclass
class Image:
    id: str
    name: str
    created: float = field(default_factory=time.time)


@dataclass
class Network:
    id: str
    name: str
    created: float = field(default_factory=time.time)


@dataclass
class Keypair:
    name: str
    public_key: str
    fingerprint: str
    type: str = "ssh"
    created: float = field(default_factory=time.time)


@dataclass
class Quota:
    """Nova's default quotas; -1 is unlimited."""

    instances: int = 10
    cores: int = 20
    ram: int = 51200


@dataclass
class Server:
    """A server and the machine behind it; `fate` is what fail_next_build chose for it:
    "" (boots), "error" (ERROR once the boot delay has passed) or "stuck" (BUILD forever)."""

    id: str
    name: str
    flavor: Flavor
    image: Image
    networks: list[Network]
    key_name: str | None
    metadata: dict[str, str]
    tags: list[str]
    fate: str = ""
    machine: Machine | None = None
    created: float = field(default_factory=time.time)
    vm_state: str = "building"
    updated: float = field(default_factory=time.time)
    launched: float | None = None
    fault: dict | None = None
    deleted: float | None = None
    mac: str = field(default_factory=lambda: "fa:16:3e:" + ":".join(
        uuid.uuid4().hex[i:i + 2] for i in range(0, 6, 2)))

    def settle(self, boot_delay: float) -> None:
        """Move a building server on: to ERROR (fate "error") or, once its sshd accepts
        connections, to ACTIVE, when the boot delay has passed since its creation."""
        now = time.time()
        if self.vm_state != "building" or self.fate == "stuck" or now - self.created < boot_delay:
            return
        if self.fate == "error":
            self.vm_state, self.updated = "error", now
            self.fault = {"code": 500, "created": iso(now), "message": NO_VALID_HOST}
        elif self.machine and self.machine.accepts():
            self.vm_state, self.updated, self.launched = "active", now, now

    @property
    def status(self) -> str:
        return STATUS[self.vm_state]

    @property
    def task_state(self) -> str | None:
        if self.vm_state != "building":
            return None
        return "scheduling" if self.fate == "error" else "spawning"

    @property
    def power_state(self) -> int:
        return POWER.get(self.vm_state, 0)

    @property
    def on_host(self) -> bool:
        """Whether it was scheduled to a host (one that failed never was)."""
        return self.fate != "error"

    @property
    def port(self) -> int | None:
        return self.machine.port if self.machine else None
