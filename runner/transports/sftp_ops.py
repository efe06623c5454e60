"""File transfers over SFTP that never leave a half-written file under the target's name."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import paramiko


def put(sftp: paramiko.SFTPClient, local: Path, remote: str) -> None:
    """Upload to a temporary name beside the target, then rename it over the target."""
    tmp = f"{remote}.mso-tmp-{secrets.token_hex(4)}"
    try:
        sftp.put(str(local), tmp)
        sftp.posix_rename(tmp, remote)
    except BaseException:
        _remove_quietly(sftp, tmp)
        raise


def get(sftp: paramiko.SFTPClient, remote: str, local: Path) -> None:
    """Download to a temporary name beside the target, then rename it over the target."""
    tmp = local.with_name(f".{local.name}.mso-tmp-{secrets.token_hex(4)}")
    try:
        sftp.get(remote, str(tmp))
        os.replace(tmp, local)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def exists(sftp: paramiko.SFTPClient, remote: str) -> bool:
    """Whether a remote path exists (a dangling symlink does)."""
    try:
        sftp.lstat(remote)
    except FileNotFoundError:
        return False
    return True


def _remove_quietly(sftp: paramiko.SFTPClient, path: str) -> None:
    try:
        sftp.remove(path)
    except (OSError, EOFError, paramiko.SSHException):
        pass
