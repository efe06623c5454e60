"""`publish_outputs: true`: a run that succeeded becomes catalogue entries in datasets/.

One entry per task with outputs (`<experiment>-<run>` for a run of one task, else
`<experiment>-<run>-<task>`), written beside the other datasets and committed with the run's
results (runner/publish/gitpush.py commits results/ and datasets/ together):
- location: the task's folder on the outputs remote when its outputs went there (the file itself
  when there is one), else its files in results/ (a repository path);
- sha256 (one file) or manifest (several; a sidecar `datasets/<name>.manifest` past catalogue.INLINE files),
  size, the outputs' licence and credentials, the experiment's owners;
- visibility: private when any dataset the run read is private (what comes from private data is
  private until its owners say otherwise);
- produced_by: experiment, run, task, commit, image (reference@digest, when a container ran).
A task whose outputs stayed in a work dir (no remote, too large for results/) is not published.
"""

from __future__ import annotations

import hashlib
import posixpath
from pathlib import Path
from typing import Any

from runner.data import catalogue
from runner.data.stageout import Target
from runner.declarations import manifest, schema
from runner.declarations.models import EnvRef, Experiment, Repository
from runner.errors import MsoError
from runner.state import RunRecord, State, TaskRecord

NAME_MAX = 64      # common.schema.json's names


def publish(repo: Repository, exp: Experiment, record: RunRecord) -> list[str]:
    """Write the run's entries into datasets/; their names."""
    root = Path(repo.root)
    names = []
    for entry in entries(repo, exp, record):
        if not schema.is_valid("dataset", entry):   # a bug of mso's, not the user's
            raise MsoError(f"the catalogue entry {entry['name']} mso made is not valid")
        catalogue.write_entry(root, root / "datasets" / f"{entry['name']}.yaml", entry, HEADER)
        names.append(entry["name"])
    return names


HEADER = "# Written by mso (publish_outputs) when the run that produced it ended.\n"


def entries(repo: Repository, exp: Experiment, record: RunRecord) -> list[dict[str, Any]]:
    """Each published task's entry (catalogue.write_entry puts a long manifest in a sidecar)."""
    out = []
    single = len(record.tasks) == 1
    for t in record.tasks:
        if t.state != State.SUCCEEDED or t.reused or not t.outputs or \
                any(o["stored"] == "workdir" for o in t.outputs):
            continue
        base = f"{exp.name}-{record.run_id}" + ("" if single else f"-{t.id}")
        out.append(entry(repo, exp, record, t, name(base)))
    return out


def entry(repo: Repository, exp: Experiment, record: RunRecord, t: TaskRecord,
          named: str) -> dict[str, Any]:
    location, files = _location(repo, exp, record, t)
    e: dict[str, Any] = {"name": named, "description": _description(exp, record, t),
                         "location": location}
    if len(files) == 1:
        e["sha256"] = next(iter(files.values()))
    else:
        e["manifest"] = dict(sorted(files.items()))
    e["size"] = (sum(o["size"] for o in t.outputs) if _remote(t) or len(files) == 1 else
                 sum((Path(repo.root) / location / p).stat().st_size for p in files))
    if exp.outputs is not None and exp.outputs.licence:
        e["licence"] = exp.outputs.licence
    e["visibility"] = "private" if private_inputs(repo, record) else "public"
    if exp.owners:
        e["owners"] = list(exp.owners)
    if _remote(t) and exp.outputs is not None and exp.outputs.credentials:
        e["credentials"] = {k: {"env": v.env} if isinstance(v, EnvRef) else v
                            for k, v in exp.outputs.credentials.items()}
    e["produced_by"] = _produced_by(exp, record, t)
    return e


def private_inputs(repo: Repository, record: RunRecord) -> list[str]:
    """The private datasets the run read."""
    return sorted(n for n in record.datasets
                  if (ds := repo.datasets.get(n)) is not None and ds.visibility == "private")


def name(base: str) -> str:
    """A catalogue name from `<experiment>-<run>[-<task>]`: lower case, at most NAME_MAX
    characters (a long one keeps its start and a hash of the whole)."""
    base = base.lower()
    if len(base) <= NAME_MAX:
        return base
    return base[:NAME_MAX - 9] + "-" + hashlib.sha256(base.encode()).hexdigest()[:8]


def _remote(t: TaskRecord) -> bool:
    return any(o["stored"] == "remote" for o in t.outputs)


def _location(repo: Repository, exp: Experiment, record: RunRecord, t: TaskRecord
              ) -> tuple[str, dict[str, str]]:
    """Where the entry's data is, and its files (path inside that folder -> sha256). Outputs on
    the remote are alone in their task's folder there. In results/, several outputs are
    published as their deepest common folder, and a folder dataset lists every file it holds
    (the task's logs too, when the outputs sit at the top of its folder): a manifest that left
    one out would not match the folder it describes."""
    outputs = {o["path"]: o["sha256"] for o in t.outputs}
    if _remote(t) and exp.outputs is not None:
        if len(t.outputs) == 1:
            return t.outputs[0]["location"], outputs
        return Target.of(exp.outputs, exp.path).folder(record.run_id, t.id) + "/", outputs
    folder = f"results/{record.experiment}/{record.run_id}/{t.id}"
    if len(outputs) == 1:
        return f"{folder}/{t.outputs[0]['path']}", outputs
    common = posixpath.commonpath([posixpath.dirname(p) for p in outputs])
    folder = posixpath.join(folder, common) if common else folder
    return folder + "/", manifest.of_folder(Path(repo.root) / folder)


def _description(exp: Experiment, record: RunRecord, t: TaskRecord) -> str:
    params = ", ".join(f"{k}={v}" for k, v in sorted(t.parameters.items()))
    app = record.application
    return (f"Outputs of task {t.id} of run {record.run_id} of the experiment {exp.name} "
            f"({app['name']}@{app['version']}" + (f"; {params}" if params else "") + ").")


def _produced_by(exp: Experiment, record: RunRecord, t: TaskRecord) -> dict[str, str]:
    made = {"experiment": exp.name, "run": record.run_id, "task": t.id}
    if record.git.get("commit"):
        made["commit"] = str(record.git["commit"])
    image = _image(exp, record, t)
    if image:
        made["image"] = image
    return made


def _image(exp: Experiment, record: RunRecord, t: TaskRecord) -> str | None:
    """reference@digest of the image the task ran in, when one did."""
    step = next((s for s in exp.steps if s.name == t.step), None)
    for i in record.images:
        if step is None or (i.get("application") == step.application.split("@")[0]
                            and i.get("infrastructure") == step.infrastructure):
            return f"{i['reference']}@{i['digest']}"
    return None
