"""Known host keys from a variable named in the SSH settings, and refusing every host not pinned there."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import paramiko

from runner.transports.credentials import env_value
from runner.transports.failures import UnknownHostKey, permanent

log = logging.getLogger(__name__)
DEFAULT_FILES = ("~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts")
# A known_hosts line: [@marker] hosts keytype base64 (a path has no such shape).
LINE = re.compile(r"^\s*(@\S+\s+)?\S+\s+(ssh-|ecdsa-|sk-)\S*\s+[A-Za-z0-9+/=]+", re.MULTILINE)


@dataclass(frozen=True)
class KnownHosts:
    """known_hosts text and where it came from (for messages)."""

    text: str
    source: str
    variable: str | None = None


def load(name: str | None, lines: str | None = None) -> KnownHosts:
    """The known hosts given as `lines` (a server's console told them), else those the variable
    `name` holds (lines, or a file path); the user's files when no variable is named."""
    if lines is not None:
        return KnownHosts(lines, "the host keys the server's console output printed")
    if name is None:
        files = [Path(p).expanduser() for p in DEFAULT_FILES]
        text = "".join(p.read_text(errors="replace") + "\n" for p in files if p.is_file())
        return KnownHosts(text, "~/.ssh/known_hosts (the infrastructure declares no known_hosts)")
    value = env_value(name, "known host keys", allow_empty=True)
    if not value.strip() or "\n" in value.strip() or LINE.match(value):
        return KnownHosts(value, f"the variable {name}", name)
    path = Path(value.strip()).expanduser()
    try:
        return KnownHosts(path.read_text(errors="replace"), f"{path} (named by {name})", name)
    except OSError as exc:
        raise permanent(f"environment variable {name} (known host keys) holds neither "
                        f"known_hosts lines nor the path of a readable file: {path} "
                        f"({exc.strerror})") from None


def install(client: paramiko.SSHClient, known: KnownHosts) -> None:
    """Give a client the pinned keys and a policy that refuses any other host."""
    keys = client.get_host_keys()
    for number, line in enumerate(known.text.splitlines(), 1):
        line = line.strip()
        # Comments, blanks, and @cert-authority/@revoked lines: none of them pins a key.
        if not line or line.startswith(("#", "@")):
            continue
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, number)
        except Exception as exc:  # noqa: BLE001 - one bad line must not hide the others
            entry = None
            log.warning("%s line %d: unreadable known_hosts entry (%s)", known.source, number,
                        type(exc).__name__)
        for name in entry.hostnames if entry and entry.key else ():
            keys.add(name, entry.key.get_name(), entry.key)
    client.set_missing_host_key_policy(RejectUnknown(known))


class RejectUnknown(paramiko.RejectPolicy):
    """RejectPolicy whose refusal says how to pin the key."""

    def __init__(self, known: KnownHosts) -> None:
        self.known = known

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        host, port = split_name(hostname)
        raise UnknownHostKey(
            f"host key of {hostname} ({key.get_name()} {fingerprint(key)}) is not in the known "
            f"hosts from {self.known.source}: refused. If this is the right host, pin its key: "
            f"{pin_hint(host, port, self.known.variable)}")


def changed_message(exc: paramiko.BadHostKeyException, host: str, port: int,
                    known: KnownHosts) -> str:
    """Why a changed host key was refused, and how to re-pin it once verified."""
    got, pinned = exc.key, exc.expected_key
    return (f"host key of {host}:{port} CHANGED: the server offers {got.get_name()} "
            f"{fingerprint(got)} but the known hosts from {known.source} pin "
            f"{pinned.get_name()} {fingerprint(pinned)}. Refused: this may be an attack, or the "
            f"server was reinstalled; check with its administrators, then re-pin: "
            f"{pin_hint(host, port, known.variable)}")


def pin_hint(host: str, port: int, variable: str | None) -> str:
    """The command that prints a host's keys, and where to put them."""
    scan = f"ssh-keyscan -p {port} {host}" if port != 22 else f"ssh-keyscan {host}"
    where = f"the variable {variable} (or the file it names)" if variable else "~/.ssh/known_hosts"
    return f"run `{scan}`, check the fingerprints, and put its lines into {where}"


def fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA256 fingerprint as OpenSSH prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def split_name(hostname: str) -> tuple[str, int]:
    """'[host]:port' or 'host' (as known_hosts names a server) -> (host, port)."""
    match = re.fullmatch(r"\[(.+)\]:(\d+)", hostname)
    return (match[1], int(match[2])) if match else (hostname, 22)
