"""A host over SSH (paramiko): one connection, one long-lived login shell, SFTP for files.

Commands go through one remote `bash -l` (see shell.py: ~100x cheaper than a channel per
command); files through one SFTP client, written to a temporary name and renamed. Host keys are
checked against the known hosts in the variable the settings name (never learnt); keys and
passwords are read from the variables the settings name when a connection opens, and appear in
no message or log.
Transient failures are retried with exponential backoff and jitter on a new connection; what
still fails raises TransportError with `transient` True (pause the run) or False (fix something).
"""

from __future__ import annotations

import getpass
import logging
import threading
from pathlib import Path
from typing import Callable, TypeVar

import paramiko
import tenacity

from runner.errors import TransportError
from runner.transports import credentials, hostkeys, sftp_ops
from runner.transports.base import OnLine, Result, Transport
from runner.transports.failures import (UnknownHostKey, is_network_error, is_transient,
                                        permanent, reason, transient)
from runner.transports.settings import Endpoint, SSHSettings, parse_jump
from runner.transports.shell import CommandTimeout, Shell, ShellEnded

log = logging.getLogger(__name__)
T = TypeVar("T")
KEEPALIVE_S = 30


class SSHTransport(Transport):
    """Commands through one remote login shell and files through SFTP, over one connection."""

    def __init__(self, settings: SSHSettings, *, shell: str = "bash -l", attempts: int = 5,
                 backoff: float = 0.5, max_backoff: float = 10.0,
                 connect_timeout: float = 15.0) -> None:
        self.settings = settings
        self.target = Endpoint(settings.host, settings.port, settings.user or getpass.getuser())
        self.host = settings.host
        self.jump = parse_jump(settings.jump_host, self.target.user) if settings.jump_host else None
        self.shell_command, self.connect_timeout = shell, connect_timeout
        self.attempts, self.backoff, self.max_backoff = max(1, attempts), backoff, max_backoff
        if settings.key_var is None and settings.password_var is None:
            raise permanent(f"ssh {self.target}: neither a `key` nor a `password` variable is "
                            f"named, so there is no way to log in")
        for name, what in ((settings.key_var, "SSH private key"),
                           (settings.password_var, "SSH password")):
            if name is not None:  # fail now, not at the first command (the value is not kept)
                credentials.env_value(name, what)
        hostkeys.load(settings.known_hosts_var, settings.host_keys)
        self._client: paramiko.SSHClient | None = None
        self._jump_client: paramiko.SSHClient | None = None
        self._shell: Shell | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.RLock()

    # --- the five methods ----------------------------------------------------------------

    def run(self, cmd: str, timeout: float | None = None, stdin: str | None = None,
            on_stderr: OnLine | None = None) -> Result:
        with self._lock:
            self.commands += 1
            shell, token = self._retry(f"run `{_short(cmd)}`", lambda: self._send(cmd, stdin))
            try:
                return shell.collect(cmd, token, timeout, on_stderr)
            except CommandTimeout:
                self._shell = None
                shell.kill()
                raise transient(f"ssh {self.target}: timed out after {timeout} s: {cmd}") from None
            except ShellEnded as ended:
                self._shell = None
                return self._shell_ended(cmd, ended)
            except (OSError, EOFError, paramiko.SSHException) as exc:
                self._drop()
                raise self._lost(cmd, exc) from None

    def put(self, local: Path, remote: str) -> None:
        local = Path(local)
        self._file_op(f"put {local} to {remote}", lambda sftp: sftp_ops.put(sftp, local, remote))

    def get(self, remote: str, local: Path) -> None:
        local = Path(local)
        self._file_op(f"get {remote} to {local}", lambda sftp: sftp_ops.get(sftp, remote, local))

    def exists(self, remote: str) -> bool:
        return self._file_op(f"check whether {remote} exists",
                             lambda sftp: sftp_ops.exists(sftp, remote))

    def close(self) -> None:
        with self._lock:
            self._drop()

    # --- commands ------------------------------------------------------------------------

    def _send(self, cmd: str, stdin: str | None) -> tuple[Shell, bytes]:
        shell = self._ensure_shell()
        return shell, shell.send(cmd, stdin)

    def _ensure_shell(self) -> Shell:
        client = self._ensure_client()
        if self._shell is None or not self._shell.alive:
            try:
                self._shell = Shell.open(client.get_transport(), self.shell_command,
                                         self.connect_timeout)
            except ShellEnded as ended:
                if not self._alive():
                    raise EOFError("the connection closed while the shell started") from None
                raise permanent(f"ssh {self.target}: the remote shell `{self.shell_command}` "
                                f"ended at start with status {ended.status}: "
                                f"{ended.stderr.decode(errors='replace').strip()[-500:]}") from None
            except CommandTimeout:
                raise transient(f"ssh {self.target}: the remote shell `{self.shell_command}` did "
                                f"not answer within {self.connect_timeout} s") from None
        return self._shell

    def _shell_ended(self, cmd: str, ended: ShellEnded) -> Result:
        """A command that ended the shell (or lost the connection) is reported as such."""
        if not self._alive():
            self._drop()
            raise self._lost(cmd, EOFError("connection closed"))
        note = (f"[mso] the remote shell ended while running this command (status "
                f"{ended.status}); a new one is opened for the next command\n")
        err = ended.stderr.decode("utf-8", "replace")
        return Result(cmd, ended.status, ended.stdout.decode("utf-8", "replace"),
                      err + ("\n" if err and not err.endswith("\n") else "") + note)

    def _lost(self, cmd: str, exc: BaseException) -> TransportError:
        return transient(f"ssh {self.target}: connection lost while running `{_short(cmd)}` "
                         f"({reason(exc)}); it may or may not have run")

    # --- files ---------------------------------------------------------------------------

    def _file_op(self, what: str, op: Callable[[paramiko.SFTPClient], T]) -> T:
        def attempt() -> T:
            sftp = self._ensure_sftp()
            try:
                return op(sftp)
            except OSError as exc:
                if self._alive() and not is_network_error(exc):  # about the file: final
                    raise permanent(f"ssh {self.target}: cannot {what}: {reason(exc)}") from None
                raise
        with self._lock:
            return self._retry(what, attempt)

    def _ensure_sftp(self) -> paramiko.SFTPClient:
        client = self._ensure_client()
        if self._sftp is None or self._sftp.get_channel().closed:
            self._sftp = client.open_sftp()
        return self._sftp

    # --- the connection ------------------------------------------------------------------

    def _ensure_client(self) -> paramiko.SSHClient:
        if self._client is not None and self._alive():
            return self._client
        self._drop()
        try:
            self._connect()
        except BaseException:
            self._drop()
            raise
        return self._client

    def _connect(self) -> None:
        """Log in (through the jump host when there is one), host keys checked."""
        known = hostkeys.load(self.settings.known_hosts_var, self.settings.host_keys)
        password, key = self.settings.password_var, self.settings.key_var
        secret = credentials.env_value(password, "SSH password") if password else None
        pkey = credentials.private_key(key, secret) if key else None
        sock = None
        if self.jump:
            self._jump_client = self._login(self.jump, known, pkey, secret, None)
            sock = self._jump_client.get_transport().open_channel(
                "direct-tcpip", (self.target.host, self.target.port), ("127.0.0.1", 0),
                timeout=self.connect_timeout)
        self._client = self._login(self.target, known, pkey, secret, sock)
        self.connections += 1
        for client in (self._client, self._jump_client):
            if client is not None:  # notice a dead peer on an idle connection
                client.get_transport().set_keepalive(KEEPALIVE_S)
        log.info("connected to %s%s", self.target, f" via {self.jump}" if self.jump else "")

    def _login(self, to: Endpoint, known: hostkeys.KnownHosts, pkey: paramiko.PKey | None,
               secret: str | None, sock: paramiko.Channel | None) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        hostkeys.install(client, known)
        t = self.connect_timeout
        try:
            client.connect(to.host, to.port, to.user, pkey=pkey, password=secret, sock=sock,
                           timeout=t, banner_timeout=t, auth_timeout=t, channel_timeout=t,
                           look_for_keys=False, allow_agent=False)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise permanent(hostkeys.changed_message(exc, to.host, to.port, known)) from None
        except paramiko.AuthenticationException:
            client.close()
            raise permanent(self._auth_refused(to)) from None
        except BaseException:
            client.close()
            raise
        return client

    def _auth_refused(self, to: Endpoint) -> str:
        tried = [f"{what} from {name}" for what, name in
                 (("the key", self.settings.key_var), ("the password", self.settings.password_var))
                 if name]
        return (f"ssh {to}: authentication refused ({' and '.join(tried)} tried); check that "
                f"the public key is in ~{to.user}/.ssh/authorized_keys on {to.host}")

    def _alive(self) -> bool:
        clients = [c for c in (self._client, self._jump_client) if c is not None]
        return bool(clients) and all(
            c.get_transport() is not None and c.get_transport().is_active() for c in clients)

    def _drop(self) -> None:
        """Forget the connection (and its shell and SFTP client), closing what is open."""
        for thing in (self._shell, self._sftp, self._client, self._jump_client):
            if thing is not None:
                try:
                    thing.close()
                except (OSError, EOFError, paramiko.SSHException):
                    pass
        self._shell = self._sftp = self._client = self._jump_client = None

    def _retry(self, what: str, fn: Callable[[], T]) -> T:
        """Call fn; on a transient failure drop the connection and try again, backing off."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=(tenacity.wait_exponential(multiplier=self.backoff, max=self.max_backoff)
                  + tenacity.wait_random(0, self.backoff)),
            retry=tenacity.retry_if_exception(is_transient),
            before_sleep=lambda state: self._before_retry(what, state), reraise=True)
        try:
            return retrying(fn)
        except TransportError:
            raise
        except UnknownHostKey as exc:
            raise permanent(f"ssh {self.target}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - every failure leaves as a TransportError
            if is_transient(exc):
                raise transient(f"ssh {self.target}: cannot {what}: {reason(exc)} (after "
                                f"{self.attempts} tries; the host may be down or restarting)"
                                ) from None
            raise permanent(f"ssh {self.target}: cannot {what}: {reason(exc)}") from None

    def _before_retry(self, what: str, state: tenacity.RetryCallState) -> None:
        self._drop()
        exc = state.outcome.exception() if state.outcome else None
        log.warning("ssh %s: %s failed (%s); try %d of %d in %.1f s", self.target, what,
                    reason(exc) if exc else "?", state.attempt_number + 1, self.attempts,
                    state.next_action.sleep if state.next_action else 0)


def _short(cmd: str, limit: int = 200) -> str:
    return cmd if len(cmd) <= limit else cmd[:limit] + " ..."

