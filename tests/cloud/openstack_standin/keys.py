"""Ed25519 key pairs made by ssh-keygen, and the fingerprints Nova and cloud-init show of them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple


class KeyPair(NamedTuple):
    """An OpenSSH private key (its file's text) and its public key line."""

    private: str
    public: str


def new_keypair(comment: str = "mso-test") -> KeyPair:
    """A fresh ed25519 key pair (no passphrase)."""
    with tempfile.TemporaryDirectory() as folder:
        key = Path(folder) / "id_ed25519"
        public = keygen(key, comment)
        return KeyPair(key.read_text(), public)


def keygen(path: Path, comment: str) -> str:
    """Write an ed25519 key at `path` (mode 600) and `path`.pub; returns the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return Path(f"{path}.pub").read_text().strip()


def _blob(public_line: str) -> bytes:
    """The key itself, from an OpenSSH public key line; ValueError if it is none."""
    parts = public_line.split()
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise ValueError("not an OpenSSH public key line")
    try:
        return base64.b64decode(parts[1], validate=True)
    except binascii.Error as error:
        raise ValueError(f"not an OpenSSH public key line: {error}") from None


def md5_fingerprint(public_line: str) -> str:
    """The fingerprint Nova shows of a key pair: MD5 of the key, as colon-separated hex."""
    return ":".join(f"{b:02x}" for b in hashlib.md5(_blob(public_line)).digest())


def sha256_fingerprint(public_line: str) -> str:
    """The fingerprint `ssh-keygen -l` (and cloud-init) prints: SHA256:<base64, unpadded>."""
    digest = base64.b64encode(hashlib.sha256(_blob(public_line)).digest()).decode()
    return "SHA256:" + digest.rstrip("=")
