"""What a catalogue entry says about its data, computed from the data itself: a file's sha256 or a
folder's manifest, and the size. Data kept in the repository is read from disk, an http(s) URL is
read as it downloads, and an rclone remote is listed and hashed by rclone (runner/data/rclone.py).

A remote is configured here from the `RCLONE_CONFIG_<REMOTE>_*` variables set in the environment;
the entry names them under `credentials`, a secret by its variable's name, never its value.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runner.data import rclone
from runner.declarations import datacheck
from runner.declarations import manifest as manifests
from runner.declarations.models import EnvRef
from runner.errors import MsoError
from runner.fsutil import sha256_file, write_atomic

Progress = Callable[[int], None]      # called with the bytes read since the last call
INLINE = 20          # a folder with more files keeps its manifest in a sidecar
NOT_SECRET = ("TYPE", "URL", "VENDOR", "HOST", "PORT")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Described:
    """What the entry says about the data."""

    location: str
    size: int
    sha256: str | None = None                    # a file's
    manifest: Mapping[str, str] | None = None    # a folder's: path inside it -> sha256

    @property
    def files(self) -> int:
        return 1 if self.manifest is None else len(self.manifest)


def local_total(full: Path) -> int:
    """The bytes `local` reads (for a progress bar)."""
    if full.is_file():
        return full.stat().st_size
    return sum((full / f).stat().st_size for f in datacheck.folder_files(full))


def local(full: Path, location: str, progress: Progress) -> Described:
    """A file or folder of the repository, `location` its path relative to the top."""
    if full.is_file():
        return Described(location, full.stat().st_size, sha256=sha256_file(full, progress))
    names = sorted(datacheck.folder_files(full))
    if not names:
        raise MsoError(f"{location} holds no file: a folder dataset needs at least one")
    listed = {n: sha256_file(full / n, progress) for n in names}
    size = sum((full / n).stat().st_size for n in names)
    return Described(location.rstrip("/") + "/", size, manifest=listed)


def url(location: str, progress: Progress, total: Callable[[int], None]) -> Described:
    """A file behind an http(s) URL, hashed as it streams in (nothing is kept)."""
    if location.endswith("/"):
        raise MsoError(f"{location} is a folder: give it as an rclone http remote "
                       "(RCLONE_CONFIG_<REMOTE>_TYPE=http and _URL) and add REMOTE:PATH/")
    h, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(location, timeout=60) as answer:
            total(int(answer.headers.get("Content-Length") or 0))
            while chunk := answer.read(CHUNK):
                h.update(chunk)
                size += len(chunk)
                progress(len(chunk))
    except urllib.error.HTTPError as exc:
        raise MsoError(f"{location}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        raise MsoError(f"{location}: cannot read it ({why})") from None
    return Described(location, size, sha256=h.hexdigest())


def credentials_from_env(remote: str, environ: Mapping[str, str] | None = None
                         ) -> dict[str, EnvRef | str]:
    """The `credentials` that configure a remote from the variables set: TYPE, URL, VENDOR,
    HOST and PORT as their values, every other one by its name (it may be a secret)."""
    env = os.environ if environ is None else environ
    start = rclone.prefix(remote)
    return {var: (env[var] if var[len(start):] in NOT_SECRET else EnvRef(var))
            for var in sorted(env) if var.startswith(start)}


def remote(location: str, settings: rclone.Settings) -> Described:
    """A file or folder on an rclone remote: its listing gives the sizes, rclone the sha256s
    (where the remote keeps none, rclone reads the data)."""
    remote_name = rclone.remote_of(location) or ""
    if not settings.configures(remote_name):
        raise MsoError(f"the rclone remote '{remote_name}' is not configured: set "
                       f"{rclone.prefix(remote_name)}TYPE (and its other settings, e.g. "
                       f"{rclone.prefix(remote_name)}URL) in the environment")
    if _is_folder(location, settings):
        folder = location.rstrip("/") + "/"
        sizes = {e["Path"]: int(e.get("Size", 0)) for e in rclone.lsjson(folder, settings)}
        if not sizes:
            raise MsoError(f"{folder} holds no file: a folder dataset needs at least one")
        sums = rclone.sha256sums(folder, settings)
        missing = sorted(set(sizes) - set(sums))
        if missing:
            raise MsoError(f"{folder}: rclone gave no sha256 for {', '.join(missing[:3])}")
        return Described(folder, sum(sizes.values()), manifest={p: sums[p] for p in sizes})
    listed, sums = rclone.lsjson(location, settings), rclone.sha256sums(location, settings)
    if len(listed) != 1 or len(sums) != 1:
        raise MsoError(f"{location}: rclone listed {len(listed)} files and gave {len(sums)} "
                       "sha256s, where one file was expected")
    return Described(location, int(listed[0].get("Size", 0)), sha256=next(iter(sums.values())))


def _is_folder(location: str, settings: rclone.Settings) -> bool:
    if location.endswith("/"):
        return True
    proc = rclone.run(["lsjson", "--stat", "--", location], settings, f"looking at {location}")
    try:
        return bool(json.loads(proc.stdout).get("IsDir"))
    except (ValueError, AttributeError):
        raise MsoError(f"{location}: rclone's answer is not JSON") from None


def write_entry(root: Path, target: Path, data: Mapping[str, Any], header: str) -> Path | None:
    """Write the entry to `target`, `datasets/<name>.yaml` (and first, the sidecar of a manifest of more than INLINE
    files); the sidecar's path or None. A sidecar the entry no longer needs is removed. A
    credential given as `{env: NAME}` is written on one line, as people write it."""
    listed = data.get("manifest")
    side = manifests.sidecar(root, data["name"])
    if listed is not None and len(listed) > INLINE:
        data = {k: v for k, v in data.items() if k != "manifest"}
        write_atomic(side, manifests.text(listed))
    if "credentials" in data:
        data = {**data, "credentials": {k: _Flow(v) if isinstance(v, Mapping) else v
                                        for k, v in data["credentials"].items()}}
    body = yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, header + body)
    if "manifest" in data or listed is None:
        side.unlink(missing_ok=True)   # an entry updated from a large folder to a small one
        return None
    return side


class _Flow(dict):
    """`{env: NAME}`, written on one line."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping(
    "tag:yaml.org,2002:map", v, flow_style=True))
