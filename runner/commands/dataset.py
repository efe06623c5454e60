"""`mso dataset add PATH|REMOTE:PATH|URL --name N`: a catalogue entry written from the data itself.

The entry `datasets/<N>.yaml` gets the location, the size and a file's sha256 or a folder's
manifest (inline up to catalogue.INLINE files, else in the sidecar `datasets/<N>.manifest`). A remote is
configured from the `RCLONE_CONFIG_<REMOTE>_*` variables set here, which the entry names under
`credentials` (a secret by its variable's name only). Nothing is written unless all went well;
each file is replaced atomically. With --force an existing entry is updated: what the data says
is computed again, what people wrote (description, owners, access, ...) is kept unless given.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from runner.commands.common import common_options

ORDER = ("name", "description", "location", "sha256", "size", "manifest", "format", "licence",
         "visibility", "owners", "access", "credentials", "produced_by")
HEADER = "# yaml-language-server: $schema=../schemas/dataset.schema.json\n"


def add(sub) -> None:
    p = sub.add_parser("dataset", help="the data catalogue: add a dataset from its data")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = actions.add_parser(
        "add", parents=[common_options(False)],
        help="write datasets/NAME.yaml from a file or folder (its sha256 or manifest, its size)",
        description="Write datasets/NAME.yaml from data in the repository, on an rclone remote "
                    "(configured by the RCLONE_CONFIG_<REMOTE>_* variables set) or behind a URL.")
    a.add_argument("source", metavar="PATH|REMOTE:PATH|URL",
                   help="a file or folder of the repository, an rclone remote path, an http(s) URL")
    a.add_argument("--name", required=True, help="the dataset's name (lower case, digits, - and _)")
    a.add_argument("--description", help="what the data is")
    a.add_argument("--licence", help="an SPDX identifier or a URL")
    a.add_argument("--format", help="the file format (json, npy, hdf5 ...)")
    a.add_argument("--private", action="store_true",
                   help="visibility: private (the book shows its name, owners and access only)")
    a.add_argument("--owner", action="append", dest="owners", metavar="X",
                   help="who maintains it (repeat for several)")
    a.add_argument("--access", metavar="TEXT", help="how to ask for access to a private dataset")
    a.add_argument("--force", action="store_true", help="update an existing entry")
    a.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner.declarations import repository
    from runner.errors import MsoError

    repository.require_root(Path(args.repo))
    root = Path(args.repo).resolve()
    name = _name(args.name)
    target, old = _target(root, name, args.force)
    with _Bar(quiet=args.json or not sys.stderr.isatty()) as bar:
        described, credentials = _describe(args.source, root, bar, old)
    data = _entry(args, name, described, credentials, old)
    from runner.declarations import schema
    if not schema.is_valid("dataset", data):
        raise MsoError(f"the entry for '{name}' would not be valid: check --licence, --format, "
                       "--owner and --access")
    from runner.data import catalogue
    side = catalogue.write_entry(root, target, data, HEADER)
    _say(args.json, root, target, side, described)
    return 0


def _name(name: str) -> str:
    from runner.declarations import schema
    from runner.errors import MsoError

    pattern = schema.schema("common")["$defs"]["name"]["pattern"]
    if not re.match(pattern, name):
        raise MsoError(f"--name {name!r}: a dataset's name is lower-case letters, digits, '-' "
                       "and '_', starting with a letter or digit (at most 64)")
    return name


def _target(root: Path, name: str, force: bool) -> tuple[Path, dict[str, Any]]:
    """Where the entry goes, and the existing entry (with --force; empty when there is none)."""
    from runner.declarations import manifest
    from runner.errors import MsoError

    found = [p for p in (root / "datasets" / f"{name}.yaml", root / "datasets" / f"{name}.yml",
                         manifest.sidecar(root, name)) if p.exists()]
    if found and not force:
        raise MsoError(f"dataset '{name}' exists ({found[0].relative_to(root)}): give --force "
                       "to compute it again, or choose another --name")
    yml = next((p for p in found if p.suffix in (".yaml", ".yml")), None)
    return yml or root / "datasets" / f"{name}.yaml", _existing(yml)


def _existing(path: Path | None) -> dict[str, Any]:
    import yaml

    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, ValueError, yaml.YAMLError):   # a broken entry is replaced whole
        return {}
    return data if isinstance(data, dict) else {}


def _describe(source: str, root: Path, bar: "_Bar", old: dict[str, Any]):
    """What the data says, and the credentials that reach it (none for a path or a URL)."""
    from runner.data import catalogue
    from runner.declarations import datarules

    if source.startswith(("http://", "https://")):
        return catalogue.url(source, bar.advance, bar.total), {}
    remote = datarules.remote_of(source)
    if remote is None:
        full, location = _local(source, root)
        bar.total(catalogue.local_total(full))
        return catalogue.local(full, location, bar.advance), {}
    credentials, where = _credentials(remote, old)
    from runner.data import rclone
    bar.busy(f"hashing {source} with rclone")
    return catalogue.remote(source, rclone.Settings(credentials, where)), credentials


def _local(source: str, root: Path) -> tuple[Path, str]:
    """The data's path, and its location relative to the repository's top."""
    from runner.errors import MsoError

    full = Path(source)
    if not full.is_absolute():
        here = Path.cwd() / full
        full = here if here.exists() or here.is_symlink() else root / full
    if not full.exists():
        raise MsoError(f"{source}: no such file or folder")
    if not full.resolve().is_relative_to(root):
        raise MsoError(f"{source} is outside the repository: copy it in (e.g. under "
                       "datasets/data/) and add that path, or put it on a remote and add "
                       "REMOTE:PATH")
    rel = full.absolute().relative_to(root) if full.absolute().is_relative_to(root) else \
        full.resolve().relative_to(root)
    if rel.as_posix() == "." or rel.parts[0] == ".git":
        raise MsoError(f"{source}: give a file or folder inside the repository")
    return full, rel.as_posix() + ("/" if full.is_dir() else "")


def _credentials(remote: str, old: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The remote's settings from the variables set, else those of the entry being updated
    (then its path, for messages about them)."""
    from runner.data import catalogue, rclone
    from runner.declarations.models import EnvRef
    from runner.declarations import datarules
    from runner.errors import MsoError

    if why := datarules.unconfigured(f"{remote}:", {rclone.prefix(remote) + "TYPE": ""}):
        raise MsoError(why)
    found = catalogue.credentials_from_env(remote)
    if not found:
        kept = {k: EnvRef(v["env"]) if isinstance(v, dict) else v
                for k, v in (old.get("credentials") or {}).items()}
        if rclone.Settings(kept).configures(remote):
            return kept, f"datasets/{old.get('name')}.yaml"
        start = rclone.prefix(remote)
        raise MsoError(f"the rclone remote '{remote}' is not configured here: set {start}TYPE "
                       f"and its other settings ({start}URL, {start}USER, {start}PASS ...) in "
                       "the environment; the entry names them, never their values")
    return found, ""


def _entry(args: argparse.Namespace, name: str, described, credentials: dict,
           old: dict[str, Any]) -> dict[str, Any]:
    from runner.declarations.models import EnvRef

    data = {k: v for k, v in old.items()
            if k not in ("sha256", "manifest", "size", "location", "credentials")}
    data.update(name=name, location=described.location, size=described.size)
    said = old.get("description")
    if said == f"Data at {old.get('location')}.":   # what mso wrote: say the new place
        said = None
    data["description"] = args.description or said or f"Data at {described.location}."
    if described.sha256:
        data["sha256"] = described.sha256
    else:
        data["manifest"] = dict(described.manifest)
    given = {"format": args.format, "licence": args.licence, "owners": args.owners,
             "access": args.access, "visibility": "private" if args.private else None}
    data.update({k: v for k, v in given.items() if v})
    data.setdefault("visibility", "public")
    if credentials:
        data["credentials"] = {k: {"env": v.env} if isinstance(v, EnvRef) else v
                               for k, v in credentials.items()}
    return {k: data[k] for k in sorted(data, key=lambda k: ORDER.index(k) if k in ORDER else 99)}


def _say(as_json: bool, root: Path, target: Path, side: Path | None, described) -> None:
    from runner.declarations import manifest
    from runner.words import plural, size_text

    rel = target.relative_to(root).as_posix()
    kept = side.relative_to(root).as_posix() if side else None
    if as_json:
        print(json.dumps({"ok": True, "entry": rel, "manifest": kept,
                          "location": described.location, "size": described.size,
                          "files": described.files,
                          "content": described.sha256 or manifest.digest(described.manifest)},
                         indent=2))
        return
    what = plural(described.files, "file")
    where = f", manifest in {kept}" if kept else ""
    print(f"mso: {rel} written: {described.location}, {what}, "
          f"{size_text(described.size)}{where}")


class _Bar:
    """A progress bar over the bytes hashed, on stderr when it is a terminal; else silent."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.progress, self.task = quiet, None, None

    def __enter__(self) -> "_Bar":
        if not self.quiet:
            from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                       TimeRemainingColumn, TransferSpeedColumn)
            from rich.console import Console
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     DownloadColumn(), TransferSpeedColumn(),
                                     TimeRemainingColumn(), console=Console(stderr=True),
                                     transient=True)
            self.progress.start()
            self.task = self.progress.add_task("hashing", total=None)
        return self

    def __exit__(self, *exc) -> None:
        if self.progress:
            self.progress.stop()

    def total(self, n: int) -> None:
        if self.progress:
            self.progress.update(self.task, total=n or None)

    def advance(self, n: int) -> None:
        if self.progress:
            self.progress.advance(self.task, n)

    def busy(self, text: str) -> None:
        if self.progress:
            self.progress.update(self.task, description=text, total=None)
