"""The context a command hands down: one transport per login (host, port, user, credentials),
one scheduler per infrastructure, and the secrets mso holds. Backends are chosen from an explicit registry by the infrastructure's `kind`;
one whose optional dependency is missing fails only when chosen, saying what to install.

A test builds a Context with a `connect` of its own (a fake or recording transport): nothing is
cached at module level, so nothing needs monkeypatching.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import Callable

from runner.declarations.models import EnvRef, Infrastructure, plain
from runner.errors import SchedulerError, TransportError
from runner.schedulers.base import Scheduler
from runner.secrets import Secrets
from runner.transports.base import Offline, Transport
from runner.transports.settings import SSHSettings

REGISTRY = {
    "local": ("runner.schedulers.process:ProcessScheduler", ""),
    "ssh": ("runner.schedulers.process:ProcessScheduler", "paramiko"),
    # servers made per run (runner/runs/cloudhosts.py), each then an `ssh` host; this entry
    # renders the dry run's job scripts
    "openstack": ("runner.schedulers.process:ProcessScheduler", "paramiko"),
    "slurm": ("runner.schedulers.slurm:SlurmScheduler", "paramiko"),
    "pbs": ("runner.schedulers.pbs:PbsScheduler", "paramiko"),
    "torque": ("runner.schedulers.torque:TorqueScheduler", "paramiko"),
    # a `slurm` infrastructure that declares `api`: jobs through slurmrestd, files over SSH
    "slurm+api": ("runner.schedulers.slurm_rest:SlurmRestScheduler", "requests"),
}

Connect = Callable[[Infrastructure, Secrets], Transport]


def connect(infra: Infrastructure, secrets: Secrets) -> Transport:
    """The real transport to an infrastructure: this machine, or one SSH connection."""
    if infra.kind == "local":
        from runner.transports.local import LocalTransport
        # the runner's own interpreter first: `python` in a command is the one mso runs with
        path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        # tasks start without the tokens and credentials mso holds
        return LocalTransport(env={"PATH": path}, inherit=secrets.task_environment())
    return _ssh(infra)


def _ssh(infra: Infrastructure) -> Transport:
    """The SSH transport an infrastructure declares. Secrets go by variable name only (their
    values are read when the connection opens); a user given as `{env: NAME}` is read now."""
    # here, not at the top: paramiko is needed only by infrastructures reached over SSH
    from runner.transports.credentials import env_value
    from runner.transports.ssh import SSHTransport
    if not infra.host:
        raise TransportError(f"{infra.path}: infrastructure '{infra.name}' has no host")
    user = infra.user
    if isinstance(user, EnvRef):
        user = env_value(user.env, "SSH user name")
    key, password, known = (ref.env if ref else None
                            for ref in (infra.key, infra.password, infra.known_hosts))
    return SSHTransport(SSHSettings(infra.host, infra.port, user, key_var=key,
                                    password_var=password, known_hosts_var=known,
                                    jump_host=infra.jump_host, host_keys=infra.host_keys))


class Context:
    """What one command (or one test) shares: connections, backends and the secret set."""

    def __init__(self, secrets: Secrets | None = None, connect: Connect = connect) -> None:
        self.secrets = secrets or Secrets()
        self._connect = connect
        self._transports: dict[str, Transport] = {}
        self._schedulers: dict[str, Scheduler] = {}

    def transport(self, infra: Infrastructure) -> Transport:
        """One transport (one connection) per login: declarations that reach the same host as
        the same user the same way (two partitions of a cluster, say) share it."""
        key = _login(infra)
        if key not in self._transports:
            self._transports[key] = self._connect(infra, self.secrets)
        return self._transports[key]

    def scheduler(self, infra: Infrastructure) -> Scheduler:
        """The backend for an infrastructure, one per infrastructure, so one status query covers
        every run's jobs there."""
        key = _key(infra)
        if key not in self._schedulers:
            self._schedulers[key] = backend(infra)(infra, self.transport(infra))
        return self._schedulers[key]

    def close(self) -> None:
        """Close every connection; the context can be used again (it reconnects)."""
        for t in self._transports.values():
            t.close()
        self._transports.clear()
        self._schedulers.clear()

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def renderer(infra: Infrastructure) -> Scheduler:
    """A backend that only renders job scripts: no connection, no credentials needed."""
    return backend(infra)(infra, Offline(infra.host))


def backend(infra: Infrastructure) -> type[Scheduler]:
    """The scheduler class for an infrastructure's kind (and whether it declares `api`)."""
    kind = f"{infra.kind}+api" if infra.api is not None else infra.kind
    if kind not in REGISTRY:
        raise SchedulerError(f"{infra.path}: infrastructures of kind '{kind}' cannot run in this "
                             f"version of mso (available: {', '.join(REGISTRY)})")
    target, needs = REGISTRY[kind]
    module, cls = target.split(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise SchedulerError(f"{infra.path}: the '{infra.kind}' backend needs {needs or exc.name}; "
                             f"install it (pip install {needs or exc.name})") from None


def _login(infra: Infrastructure) -> str:
    """Where and as whom an infrastructure logs in (this machine, for `local`)."""
    if infra.kind == "local":
        return "local"
    return json.dumps([infra.host, infra.port, infra.user, infra.key, infra.password,
                       infra.known_hosts, infra.jump_host, infra.host_keys], default=str)


def _key(infra: Infrastructure) -> str:
    """The whole declaration: a changed infrastructure is a new one."""
    return json.dumps(plain(infra), sort_keys=True, default=str)
