"""The catalogue's rules across files: every rclone remote a declaration names is configured by its
`credentials`, a dataset produced from a private input is private, and (a warning) a folder on a
remote with no manifest, or a file with no sha256, moves and is hashed on every run.

The remote's settings are `RCLONE_CONFIG_<REMOTE>_<KEY>` variables (runner/data/rclone.py reads
them at transfer time); here only their names are checked, so validate needs no secret.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from runner.declarations.models import Dataset, EnvRef, Experiment, Repository, is_repo_path
from runner.declarations.yamlload import Document
from runner.errors import SpecError

_NAME = re.compile(r"^[A-Za-z0-9_]+$")    # what an environment variable's name can carry


def remote_of(location: str) -> str | None:
    """The rclone remote a location names (`dav:data/x` -> `dav`); None for a URL or a path."""
    if "://" in location or is_repo_path(location):
        return None
    return location.split(":", 1)[0]


def prefix(remote: str) -> str:
    """The start of the variables that configure a remote (`dav` -> `RCLONE_CONFIG_DAV_`)."""
    return f"RCLONE_CONFIG_{remote.upper()}_"


def unconfigured(location: str, credentials: Mapping[str, EnvRef | str]) -> str:
    """Why the remote of a location is not configured by these credentials ('' when it is, or
    when the location names no remote)."""
    remote = remote_of(location)
    if remote is None:
        return ""
    if not _NAME.match(remote):
        return (f"the rclone remote '{remote}' cannot be configured by RCLONE_CONFIG_* "
                "variables: name it with letters, digits and _ only")
    if prefix(remote) + "TYPE" not in credentials:
        return (f"the rclone remote '{remote}' is not configured: give "
                f"{prefix(remote)}TYPE (and its other settings) under credentials")
    return ""


def dataset(ds: Dataset, doc: Document, repo: Repository) -> list[SpecError]:
    """A dataset's remote is configured; one produced from a private input is private."""
    errors = []
    if why := unconfigured(ds.location, ds.credentials):
        errors.append(SpecError(doc.where(("location",)), why, _HOW))
    if ds.visibility != "private" and (private := private_inputs(ds, repo)):
        exp = ds.produced_by["experiment"]   # type: ignore[index]
        key = ("visibility",) if "visibility" in doc.data else ("produced_by", "experiment")
        errors.append(SpecError(doc.where(key), f"dataset '{ds.name}' is public, but experiment "
                                f"'{exp}' made it from private data ({', '.join(private)})",
                                "set `visibility: private` (with its `owners` and `access`)"))
    return errors


def private_inputs(ds: Dataset, repo: Repository) -> list[str]:
    """The private datasets the experiment that produced `ds` reads (any step), by name."""
    exp = repo.experiments.get((ds.produced_by or {}).get("experiment", ""))
    if exp is None:
        return []
    names = {b.dataset for step in exp.steps for b in exp.bindings(step).values() if b.dataset}
    return sorted(n for n in names
                  if n in repo.datasets and repo.datasets[n].visibility == "private")


def experiment(exp: Experiment, doc: Document) -> list[SpecError]:
    """The remote of an experiment's `outputs` is configured by its credentials."""
    if exp.outputs is None or not (why := unconfigured(exp.outputs.remote,
                                                        exp.outputs.credentials)):
        return []
    return [SpecError(doc.where(("outputs", "remote")), why, _HOW)]


_HOW = ("a secret as {env: NAME}, a setting such as TYPE or URL as its value; `mso dataset add` "
        "writes them from the RCLONE_CONFIG_* variables set")


def warnings(repo: Repository) -> list[str]:
    """An experiment that reads a folder on a remote whose entry has no manifest."""
    found = []
    for exp in sorted(repo.experiments.values(), key=lambda e: e.path):
        names = sorted({b.dataset for step in exp.steps for b in exp.bindings(step).values()
                        if b.dataset in repo.datasets})
        for name in names:
            ds = repo.datasets[name]
            if ds.in_repository:
                continue
            folder = ds.location.endswith("/")
            if (ds.manifest is None) if folder else (ds.sha256 is None):
                what = "a folder on a remote with no manifest" if folder else \
                    "a file on a remote with no sha256"
                found.append(f"{exp.path}: warning: dataset '{name}' is {what} ({ds.path}), "
                             "so no host's cache can know it beforehand: it moves, and is "
                             "hashed, on every run; `mso dataset add "
                             f"{shlex.quote(ds.location)} --name {name} --force` writes "
                             f"{'one' if folder else 'it'}")
    return found
