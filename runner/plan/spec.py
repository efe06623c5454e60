"""What a run's result depends on, as one snapshot: the spec hash is its SHA-256, each task's
identity is taken from its parts, and the snapshot kept with a run (plan.json's `spec`) is what
`mso plan` compares with to say what changed, field by field."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from runner import hashing
from runner.containers import recipe
from runner.declarations.models import Application, Experiment, Infrastructure, Repository, plain

FORMAT = 1  # bump when the wrapper or the layout of a run changes what a run produces

_NOT_RESULT = {"description", "owners", "tags", "path", "keep_workdir", "license", "homepage",
               "volatile", "poll_min", "poll_max", "max_parallel", "max_submitted", "data_access",
               "results", "bandwidth", "placement"}
# where an experiment's large outputs go, whether they are published, how they are plotted:
# the same bytes either way
_EXPERIMENT_NOT_RESULT = {"outputs", "publish_outputs", "plots"}

# Settings added after runs were recorded, left out of the hash at their defaults, so that runs
# of infrastructures that do not use them stay up to date
_LATER_DEFAULTS = {"volumes": [], "gpu_vendor": "nvidia"}


def snapshot(repo: Repository, exp: Experiment, apps: Iterable[str], infras: Iterable[str],
             datasets: Mapping[str, str | None]) -> dict[str, Any]:
    """Everything that changes a result, and nothing that does not. Each application's files are
    listed one by one under `file_list` (left out of the hash, which has their folder hash)."""
    applications = {}
    for name in sorted(apps):
        app = repo.applications[name]
        found = hashing.files(Path(repo.root) / "applications" / name)
        applications[name] = {**_strip(app), "files": hashing.of_files(found) if found else None,
                              **_image(repo, app), "file_list": found}
    return {
        "format": FORMAT,
        "experiment": {k: v for k, v in _strip(exp).items() if k not in _EXPERIMENT_NOT_RESULT},
        "applications": applications,
        "infrastructures": {i: infrastructure(repo.infrastructure(i)) for i in sorted(infras)},
        "datasets": dict(datasets),
    }


def digest(snap: Mapping[str, Any]) -> str:
    """The spec hash of a snapshot (the application's file lists are in it as one folder hash)."""
    content = {**snap, "applications": {n: {k: v for k, v in a.items() if k != "file_list"}
                                        for n, a in snap["applications"].items()}}
    return sha256_json(content)


def sha256_json(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _strip(record: Any) -> dict[str, Any]:
    return {k: v for k, v in plain(record).items() if k not in _NOT_RESULT}


def _image(repo: Repository, app: Application) -> dict[str, str]:
    """What names the application's image: its recipe's content hash (recipe, build context and
    args), or the declared reference; never the digest, so an unchanged application is reused."""
    c = app.container
    if c is None:
        return {}
    return {"image": recipe.recipe_hash(Path(repo.root), app) if c.recipe else c.image}


def infrastructure(infra: Infrastructure) -> dict[str, Any]:
    return {k: v for k, v in _strip(infra).items() if _LATER_DEFAULTS.get(k, ...) != v}
