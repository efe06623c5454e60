"""The one boundary to rclone (Debian's binary, installed by the project's scripts).

A remote is configured only by `RCLONE_CONFIG_<REMOTE>_<KEY>` variables that a declaration's
`credentials` names: a secret as the name of the environment variable that holds it, a setting
that is not secret (TYPE, URL) as its value. Any rclone.conf is ignored (`--config /dev/null`).

rclone-python runs the runner's own transfers (`copy`: rclone's JSON stats parsed into a rich
progress bar on a terminal, a line every MSO_PROGRESS_EVERY (10) seconds elsewhere). It falls
short in three ways, so the rest is a thin wrapper over the binary here (`run`, `host_command`):
- it builds one shell line and quotes each path with double quotes: a path given to it is
  refused if a shell would expand anything in it (`"`, `$`, a backquote, a backslash; the schema
  refuses them in locations, and mso's own cache paths have none);
- it takes no environment: the settings are put into os.environ for the length of one call and
  taken out again (mso runs one transfer at a time);
- listings and hashes need rclone's exit codes and JSON, and a host's rclone (the `direct`
  route) runs through the transport, where rclone-python cannot go.
Secret values never reach a command line, a message or a log: they go down stdin to a host, and
every text shown is masked.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from runner.data import progress
from runner.declarations.datarules import prefix, remote_of
from runner.declarations.models import EnvRef
from runner.errors import StagingError

UNSAFE = re.compile(r'["$`\\\n\r\x00]')
BASE = ["--config", "/dev/null", "--retries", "3", "--retries-sleep", "1s",
        "--low-level-retries", "3", "--contimeout", "15s", "--timeout", "60s"]
LARGE = 64 << 20            # files above this use several streams at once
STREAMS = ["--multi-thread-cutoff", "64M", "--multi-thread-streams", "4"]
PROGRESS_EVERY = progress.EVERY   # seconds between progress lines (MSO_PROGRESS_EVERY sets it)
MASK = "[MASKED]"


@dataclass(frozen=True)
class Settings:
    """What configures the remotes of one declaration: its `credentials`, and where it is."""

    credentials: Mapping[str, EnvRef | str] = field(default_factory=dict)
    where: str = ""          # the declaration's file, for messages
    environ: Mapping[str, str] | None = None   # None: this process's environment

    def configures(self, remote: str) -> bool:
        """Whether the credentials give the remote's type (checked at validate time)."""
        return prefix(remote) + "TYPE" in self.credentials

    def environment(self) -> dict[str, str]:
        """The variables rclone gets; a StagingError names one whose secret is not set."""
        env = os.environ if self.environ is None else self.environ
        out = {}
        for var, ref in sorted(self.credentials.items()):
            if isinstance(ref, EnvRef):
                if ref.env not in env:
                    raise StagingError(f"{self.where}: credentials.{var} needs the environment "
                                       f"variable {ref.env}, which is not set")
                out[var] = env[ref.env]
            else:
                out[var] = ref
        return out

    def secrets(self) -> list[str]:
        """The secret values set (to mask in anything shown), longest first."""
        env = os.environ if self.environ is None else self.environ
        found = [env.get(r.env, "") for r in self.credentials.values() if isinstance(r, EnvRef)]
        return sorted((v for v in found if v), key=len, reverse=True)

    def secret_names(self, remote: str | None) -> list[str]:
        """`VAR (from $ENV)` for each secret setting of the remote, for a refused login."""
        return [f"{var} (from ${ref.env})" for var, ref in sorted(self.credentials.items())
                if isinstance(ref, EnvRef) and (remote is None or var.startswith(prefix(remote)))]

    def mask(self, text: str) -> str:
        for value in self.secrets():
            text = text.replace(value, MASK)
        return text


def run(args: list[str], settings: Settings, what: str, *, check: bool = True,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """rclone with these arguments (no shell); a StagingError of one line when it fails."""
    env = {**os.environ, **settings.environment()}
    try:
        proc = subprocess.run(["rclone", *BASE, *args], env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout)
    except FileNotFoundError:
        raise StagingError("rclone is not installed (apt-get install rclone)") from None
    except subprocess.TimeoutExpired:
        raise StagingError(f"{settings.where}: {what}: rclone gave no answer in {timeout:.0f} s"
                           ) from None
    if check and proc.returncode:
        raise StagingError(explain(proc.stderr, settings, what, _remote_in(args)))
    return proc


def lsjson(location: str, settings: Settings) -> list[dict[str, Any]]:
    """Every file under a location (or the file itself), with its `Path` and `Size`."""
    proc = run(["lsjson", "-R", "--files-only", "--", location], settings, f"listing {location}")
    try:
        return [e for e in json.loads(proc.stdout or "[]") if not e.get("IsDir")]
    except ValueError:
        raise StagingError(f"{settings.where}: listing {location}: rclone's answer is not "
                           "JSON") from None


def sha256sums(location: str, settings: Settings) -> dict[str, str]:
    """sha256 per file under a location (path relative to it; "" names the location itself
    when it is one file). Where the remote keeps no sha256 (WebDAV, HTTP) the data is read."""
    args = ["hashsum", "sha256", "--", location]
    proc = run(args, settings, f"hashing {location}", check=False)
    if proc.returncode and "hash unsupported" in proc.stderr.lower() or \
            proc.returncode and "not supported" in proc.stderr.lower():
        proc = run(["hashsum", "sha256", "--download", "--", location], settings,
                   f"hashing {location}", check=False)
    if proc.returncode:
        raise StagingError(explain(proc.stderr, settings, f"hashing {location}",
                                   remote_of(location)))
    sums = {}
    for line in proc.stdout.splitlines():
        digest, _, path = line.partition("  ")
        if re.fullmatch(r"[0-9a-f]{64}", digest):
            sums[path] = digest
    return sums


def copy(src: str, dst: str, settings: Settings, *, file: bool, label: str = "",
         size: int | None = None) -> None:
    """Copy a folder's files (`file=False`) or one file (`copyto`) with rclone-python: a
    progress bar on a terminal, a line now and then elsewhere; several streams for large files."""
    from rclone_python import rclone as rp   # imported when a transfer runs: it pulls in rich

    for path in (src, dst):
        if UNSAFE.search(path):
            raise StagingError(f"{settings.where}: {path!r} holds a character rclone-python "
                               "cannot quote (\", $, `, \\)")
    rp.set_log_level(logging.CRITICAL)   # mso says what failed itself, masked
    args = list(BASE) + (STREAMS if size is None or size > LARGE else [])
    verb = rp.copyto if file else rp.copy
    with _environment(settings.environment()):
        try:
            verb(src, dst, show_progress=sys.stderr.isatty(), listener=Reporter(label or src),
                 args=args)
        except Exception as exc:   # rclone-python raises RcloneException (a ChildProcessError)
            said = getattr(exc, "error_msg", "") or ""
            remote = remote_of(src) or remote_of(dst)
            if not said.strip() and remote:   # it keeps only JSON log lines: ask rclone why
                probe = src if remote_of(src) else dst
                said = run(["lsjson", "--max-depth", "1", "--", probe], settings, "",
                           check=False).stderr
            raise StagingError(explain(said, settings, f"copying {src}", remote)) from None


def host_command(args: list[str], settings: Settings) -> tuple[str, str]:
    """(shell text, stdin) that runs rclone on a host through a transport: the settings come
    down stdin as `NAME=value` lines (never on a command line), exported for rclone alone."""
    env = settings.environment()
    for var, value in env.items():
        if "\n" in value or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
            raise StagingError(f"{settings.where}: credentials.{var} cannot be passed on")
    read = ('while IFS= read -r kv && [ -n "$kv" ]; do export "$kv"; done; '
            if env else "")
    text = read + "rclone " + " ".join(shlex.quote(a) for a in [*BASE, *args])
    return text, "".join(f"{k}={v}\n" for k, v in env.items()) + "\n"


def explain(stderr: str, settings: Settings, what: str, remote: str | None) -> str:
    """One line saying why rclone failed, with every secret masked (stats lines left out)."""
    text = settings.mask(progress.without_stats(stderr))
    low = text.lower()
    where = f"{settings.where}: " if settings.where else ""
    if "didn't find section in config" in low:
        return (f"{where}the rclone remote '{remote}' is not configured: give its "
                f"{prefix(remote or 'REMOTE')}TYPE (and its other settings) under credentials")
    if any(s in low for s in ("401", "403", "unauthorized", "forbidden", "unable to authenticate",
                              "couldn't decrypt", "permission denied (publickey")):
        names = ", ".join(settings.secret_names(remote)) or "its credentials"
        return f"{where}{what}: the remote '{remote}' refused the credentials: check {names}"
    if "connection refused" in low or "no such host" in low or "i/o timeout" in low:
        return f"{where}{what}: cannot reach the remote '{remote}' ({_last(text)})"
    if "not found" in low or "404" in low:
        return f"{where}{what}: not found on the remote '{remote}' ({_last(text)})"
    return f"{where}{what} failed: {_last(text) or 'rclone gave no reason'}"


class Reporter:
    """rclone-python's listener: one line on stderr every progress.every() seconds (not on a
    terminal, where the bar shows it) with the share done, the rate and what is left."""

    def __init__(self, label: str, out: Callable[[str], None] | None = None,
                 every: float | None = None) -> None:
        self.label, self.every = label, progress.every() if every is None else every
        self.out = out or (lambda s: print(s, file=sys.stderr, flush=True))
        self.last = time.monotonic()
        self.quiet = sys.stderr.isatty() and out is None

    def __call__(self, update: Mapping[str, Any]) -> None:
        now = time.monotonic()
        if self.quiet or now - self.last < self.every:
            return
        self.last = now
        self.out(progress.line(self.label, update.get("sent", 0) or 0,
                               update.get("total", 0) or 0, update.get("transfer_speed", 0) or 0))


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _remote_in(args: list[str]) -> str | None:
    return next((r for r in map(remote_of, args) if r), None)


def _last(text: str) -> str:
    """The last line that says something, without rclone's date and time prefix."""
    lines = [re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?:[A-Z]+ *: )?", "", ln).strip()
             for ln in text.strip().splitlines()]
    return next((ln for ln in reversed(lines) if ln), "")
