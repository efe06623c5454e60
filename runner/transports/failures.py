"""Which SSH failures are worth retrying, and TransportErrors that say which kind they are.

A TransportError raised by the SSH transport carries `transient`: True when the host may answer
later (connection refused or reset, timeout, EOF, sshd restarting), so a caller pauses the run;
False when trying again cannot help (authentication refused, unknown or changed host key, a
missing variable, a missing file).
"""

from __future__ import annotations

import errno
import socket

import paramiko

from runner.errors import TransportError

# Errors about a path, not about the connection: the same call would fail again.
FILE_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EEXIST, errno.ENOTDIR,
               errno.EISDIR, errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.ENAMETOOLONG}


class UnknownHostKey(paramiko.SSHException):
    """The server's host key is pinned nowhere (refused, never learnt)."""


PERMANENT = (paramiko.AuthenticationException, paramiko.BadHostKeyException, UnknownHostKey,
             paramiko.ssh_exception.IncompatiblePeer)


def transport_error(message: str, transient: bool) -> TransportError:
    """A TransportError whose `transient` attribute tells the caller whether to pause or fail."""
    return TransportError(message, transient=transient)


def permanent(message: str) -> TransportError:
    """A failure that trying again cannot fix."""
    return transport_error(message, False)


def transient(message: str) -> TransportError:
    """A failure that may go away: the caller should pause and try later."""
    return transport_error(message, True)


def is_transient(exc: BaseException) -> bool:
    """Whether trying again (on a new connection) may succeed."""
    if isinstance(exc, TransportError):
        return exc.transient
    if isinstance(exc, PERMANENT):
        return False
    if isinstance(exc, socket.gaierror):
        return exc.errno == socket.EAI_AGAIN
    if isinstance(exc, OSError) and exc.errno in FILE_ERRNOS:
        return False
    return isinstance(exc, (OSError, EOFError, paramiko.SSHException))


def is_network_error(exc: BaseException) -> bool:
    """Whether an error came from the connection rather than from a file or a path."""
    return isinstance(exc, (ConnectionError, TimeoutError, EOFError, paramiko.SSHException,
                            paramiko.ssh_exception.NoValidConnectionsError))


def reason(exc: BaseException) -> str:
    """A short description of an exception (its type and text; never a secret of ours)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
