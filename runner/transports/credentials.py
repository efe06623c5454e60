"""Settings and secrets read from the environment variables an infrastructure names.

Values are read when a connection is opened and handed straight to paramiko: never stored on an
object, logged, written to a file or put in a message (messages name the variable only).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import paramiko

from runner.declarations.models import EnvRef
from runner.transports.failures import permanent

KEY_CLASSES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


def env_value(ref: EnvRef, what: str, allow_empty: bool = False) -> str:
    """The value of the variable `ref` names; a clear error naming it when unset or empty."""
    value = os.environ.get(ref.env)
    if value is None:
        raise permanent(f"environment variable {ref.env} ({what}) is not set")
    if not value.strip() and not allow_empty:
        raise permanent(f"environment variable {ref.env} ({what}) is empty")
    return value


def resolve(value: str | EnvRef | None, what: str) -> str | None:
    """A plain setting given either literally or by the name of a variable."""
    return env_value(value, what) if isinstance(value, EnvRef) else value


def private_key(ref: EnvRef, passphrase: str | None) -> paramiko.PKey:
    """The private key held by the variable: its text, or the path of a file holding it."""
    text = env_value(ref, "SSH private key")
    if "-----BEGIN" not in text:
        text = _read_key_file(ref, text)
    for cls in KEY_CLASSES:
        try:
            return cls.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException:
            raise permanent(f"the private key in {ref.env} is encrypted: put its passphrase in "
                            f"the variable named by the infrastructure's `password`") from None
        except Exception:  # noqa: BLE001 - paramiko's parse errors may quote the key: drop them
            continue
    raise permanent(f"environment variable {ref.env} does not hold a private key that can be "
                    f"read (OpenSSH or PEM: ed25519, ecdsa, rsa), or its passphrase is wrong")


def _read_key_file(ref: EnvRef, value: str) -> str:
    """The text of the key file a variable names (the value itself never enters a message)."""
    try:
        return Path(value.strip()).expanduser().read_text()
    except (OSError, ValueError, UnicodeDecodeError):
        raise permanent(f"environment variable {ref.env} holds neither a private key "
                        f"(-----BEGIN ...) nor the path of a readable key file") from None
