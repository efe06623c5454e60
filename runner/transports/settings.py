"""Where and as whom to log in over SSH: plain values, and secrets by the names of variables.

The caller (runner.schedulers.context) makes SSHSettings from a declaration; the transport reads
the variables' values only when it opens a connection (credentials.py, hostkeys.py), so a
settings object can be printed, compared and logged without revealing anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runner.errors import TransportError

JUMP = re.compile(r"(?:(?P<user>[^@\s]+)@)?(?P<host>\[[^\]]+\]|[^:@\s]+)(?::(?P<port>\d+))?")


@dataclass(frozen=True)
class SSHSettings:
    """One host: address, login name, and the variables holding the key, the password (of the
    login, or the key's passphrase) and the known host keys (None: ~/.ssh/known_hosts)."""

    host: str
    port: int = 22
    user: str | None = None          # None: this machine's user name
    key_var: str | None = None
    password_var: str | None = None
    known_hosts_var: str | None = None
    jump_host: str | None = None     # user@host:port, user and port optional
    # pinned known_hosts lines given as they are (a cloud server's keys, read from its console
    # output): not a secret, so held here; they take the place of known_hosts_var
    host_keys: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """Where to log in: host, port and user."""

    host: str
    port: int
    user: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def parse_jump(spec: str, default_user: str) -> Endpoint:
    """'user@host:port' (user and port optional) -> Endpoint."""
    match = JUMP.fullmatch(spec.strip())
    if not match:
        raise TransportError(f"jump_host '{spec}' is not of the form user@host:port",
                             transient=False)
    return Endpoint(match["host"].strip("[]"), int(match["port"] or 22),
                    match["user"] or default_user)
