"""A stand-in server's machine: an sshd of its own on 127.0.0.1 (a fresh port), with its own host
key, authorized key and home folder. Halting it stops everything that ran on it, as deleting a
VM does: its sshd, the sessions it started, and every process whose working directory lies in
the machine's folder or whose HOME is the machine's home (a job left running with nohup or
setsid, wherever it went)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .keys import keygen

SSHD = Path("/usr/sbin/sshd")
# bash reads ~/.bashrc first when sshd runs a command (~/.profile: a login shell), ~ being
# HOME: a session sshd started in the login user's passwd home moves to this server's home
START_HERE = """\
# the stand-in cloud's: start in this server's home, as on a VM of its own
if [ "$PWD" = "{passwd_home}" ]; then cd "$HOME"; fi
"""


def sshd_config(folder: Path, port: int, user: str) -> str:
    """The machine's sshd_config: key login as `user` only, HOME set to the machine's home."""
    home = folder / "home"
    return "\n".join([
        "ListenAddress 127.0.0.1", f"Port {port}",
        f"HostKey {folder / 'ssh_host_ed25519_key'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}",
        # PAM, as Debian's own sshd: without it, OpenSSH refuses an account whose password is
        # locked ("!" in /etc/shadow, as useradd leaves the test user) even for key logins
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM yes",
        f"AllowUsers {user}", f"PidFile {folder / 'sshd.pid'}", "StrictModes no",
        # sshd starts a session in the passwd home, shared by all servers: HOME, SFTP's start
        # and (through the home's .bashrc and .profile) the working directory are this
        # server's home instead
        f"SetEnv HOME={home}",
        f"Subsystem sftp internal-sftp -d {home}", ""])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Machine:
    """One server's sshd and folder (host key, authorized_keys, sshd_config, log, home)."""

    folder: Path
    user: str
    host_key: str = ""      # the public key line
    port: int = 0
    process: subprocess.Popen | None = None

    @classmethod
    def boot(cls, folder: Path, user: str, authorized_key: str | None) -> Machine:
        """Make the folder and start sshd; returns once it accepts connections."""
        folder.mkdir(mode=0o755, parents=True)
        folder.chmod(0o755)
        machine = cls(folder, user)
        machine.host_key = keygen(folder / "ssh_host_ed25519_key", f"root@{folder.name}")
        (folder / "authorized_keys").write_text(f"{authorized_key}\n" if authorized_key else "")
        machine._make_home()
        try:
            machine._start()
        except Exception:
            machine.halt()
            raise
        return machine

    def _make_home(self) -> None:
        """The home, the login user's, with the .bashrc and .profile that start sessions there."""
        account = pwd.getpwnam(self.user)
        self.home.mkdir(mode=0o755)
        for name in (".bashrc", ".profile"):
            (self.home / name).write_text(START_HERE.format(passwd_home=account.pw_dir))
        for path in (self.home, self.home / ".bashrc", self.home / ".profile"):
            os.chown(path, account.pw_uid, account.pw_gid)

    @property
    def home(self) -> Path:
        return self.folder / "home"

    def _start(self) -> None:
        """Start sshd on a free port; again on another if that one was taken meanwhile."""
        log = self.folder / "sshd.log"
        for _ in range(3):
            self.port = free_port()
            config = self.folder / "sshd_config"
            config.write_text(sshd_config(self.folder, self.port, self.user))
            with log.open("a") as err:
                self.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],
                                                stdin=subprocess.DEVNULL,
                                                stdout=subprocess.DEVNULL, stderr=err)
            if self._listening():
                return
        raise RuntimeError(f"sshd did not start in {self.folder}:\n{log.read_text()}")

    def _listening(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.accepts():
                return True
            time.sleep(0.01)
        self.process.kill()
        self.process.wait()
        return False

    def accepts(self) -> bool:
        """Whether sshd accepts a TCP connection now."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def halt(self) -> None:
        """Stop sshd and every process of this machine, then remove its folder."""
        doomed = descendants(self.process.pid) if self.process else set()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for _ in range(3):       # a killed process's children may still sit in the folder
            doomed |= belonging_to(self.folder)
            if not doomed:
                break
            kill(doomed)
            doomed = set()
        shutil.rmtree(self.folder, ignore_errors=True)


def _processes() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent, from /proc/PID/stat (None once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def descendants(root: int) -> set[int]:
    """Every process below `root` (its children, theirs, ...)."""
    children: dict[int, list[int]] = {}
    for pid in _processes():
        stat = _stat(pid)
        if stat:
            children.setdefault(stat[1], []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd").removesuffix(" (deleted)")
    except OSError:
        return None


def _home(pid: int) -> bytes | None:
    """A process's HOME, from its environment as it started."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    return next((v[5:] for v in environ.split(b"\0") if v.startswith(b"HOME=")), None)


def belonging_to(folder: Path) -> set[int]:
    """The processes of a machine: working in its folder, or with its home as HOME (everything
    its sshd started has), zombies left out."""
    inside, home = str(folder), os.fsencode(folder / "home")
    found = set()
    for pid in _processes():
        cwd, stat = _cwd(pid), _stat(pid)
        if pid == os.getpid() or not stat or stat[0] == "Z":
            continue
        if (cwd and (cwd == inside or cwd.startswith(inside + "/"))) or _home(pid) == home:
            found.add(pid)
    return found


def kill(pids: set[int], timeout: float = 5.0) -> None:
    """SIGKILL each and wait until none runs any more (a zombie counts as gone)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all((_stat(pid) or ("Z",))[0] in ("Z", "X") for pid in pids):
            return
        time.sleep(0.01)
