"""Secrets read from the environment variables that SSH settings name.

Values are read when a connection is opened and handed straight to paramiko: never stored on an
object, logged, written to a file or put in a message (messages name the variable only).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import paramiko

from runner.transports.failures import permanent

KEY_CLASSES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


def env_value(name: str, what: str, allow_empty: bool = False) -> str:
    """The value of the variable `name`; a clear error naming it when unset or empty."""
    value = os.environ.get(name)
    if value is None:
        raise permanent(f"environment variable {name} ({what}) is not set")
    if not value.strip() and not allow_empty:
        raise permanent(f"environment variable {name} ({what}) is empty")
    return value


def private_key(name: str, passphrase: str | None) -> paramiko.PKey:
    """The private key held by the variable `name`: its text, or the path of a file holding it."""
    text = env_value(name, "SSH private key")
    if "-----BEGIN" not in text:
        text = _read_key_file(name, text)
    for cls in KEY_CLASSES:
        try:
            return cls.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException:
            raise permanent(f"the private key in {name} is encrypted: put its passphrase in "
                            f"the variable named by the infrastructure's `password`") from None
        except Exception:  # noqa: BLE001 - paramiko's parse errors may quote the key: drop them
            continue
    raise permanent(f"environment variable {name} does not hold a private key that can be "
                    f"read (OpenSSH or PEM: ed25519, ecdsa, rsa), or its passphrase is wrong")


def _read_key_file(name: str, value: str) -> str:
    """The text of the key file a variable names (the value itself never enters a message)."""
    try:
        return Path(value.strip()).expanduser().read_text()
    except (OSError, ValueError, UnicodeDecodeError):
        raise permanent(f"environment variable {name} holds neither a private key "
                        f"(-----BEGIN ...) nor the path of a readable key file") from None
