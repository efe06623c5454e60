"""Turn schema-valid documents into frozen records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runner.declarations import logfilters
from runner.declarations.models import (MAIN, Application, Container, Dataset, EnvRef, Experiment,
                                ImageRegistry, InputBinding, InputSpec, Infrastructure, LogSpec,
                                OpenStack, OutputsTarget, PlotSpec, Resources, ResultFile, SlurmApi,
                                Step, freeze)
from runner.declarations.yamlload import Document


def resources(raw: Mapping[str, Any] | None) -> Resources:
    raw = dict(raw or {})
    for key in ("slurm", "pbs"):
        raw[key] = freeze(raw.get(key, {}))
    return Resources(**raw)


def _env(raw: Any) -> Any:
    return EnvRef(raw["env"]) if isinstance(raw, Mapping) else raw


def _container(c: Mapping[str, Any]) -> Container:
    build = dict(c.get("build", {}))
    build["args"] = freeze({k: str(v) for k, v in build.get("args", {}).items()})
    reg = c.get("registry")
    registry = ImageRegistry(reg["image"], _env(reg.get("username")),
                             _env(reg.get("password"))) if reg else None
    return Container(image=c.get("image"), registry=registry, **build)


def application(doc: Document, logs: tuple[LogSpec, ...] | None = None) -> Application:
    """The record of an application; `logs`: its log files when read from the filter file its
    `logs: {filters: PATH}` names (runner/declarations/logfilters.py), else they are inline."""
    d = doc.data
    container = _container(d["container"]) if "container" in d else None
    if logs is None:
        raw = d.get("logs", [])
        logs = logfilters.specs(doc, raw) if isinstance(raw, list) else ()
    inputs = {k: InputSpec(**v) for k, v in d.get("inputs", {}).items()}
    return Application(
        name=d["name"], version=str(d["version"]), description=d["description"],
        command=tuple(d["command"]), parameters=freeze(d.get("parameters", {})),
        inputs=freeze(inputs), outputs=tuple(d.get("outputs", [])),
        volatile=freeze(d.get("volatile", {})), logs=logs,
        results=tuple(ResultFile(r["file"], tuple(r.get("fields", ()))) for r in d.get("results", [])),
        environment=freeze(d.get("environment", {})), resources=resources(d.get("resources")),
        container=container, owners=tuple(d.get("owners", [])), license=d.get("license"),
        homepage=d.get("homepage"), expected_steps=d.get("expected_steps"), path=doc.path)


def dataset(doc: Document, manifest: Mapping[str, str] | None = None) -> Dataset:
    """The record of a dataset; `manifest`: its folder's manifest when read from the sidecar
    `datasets/<name>.manifest` (runner/declarations/manifest.py), else it is inline or none."""
    d = dict(doc.data)
    if manifest is not None:
        d["manifest"] = manifest
    d["owners"] = tuple(d.get("owners", []))
    d["credentials"] = _credentials(d.get("credentials"))
    for key in ("manifest", "produced_by"):
        if key in d:
            d[key] = freeze(d[key])
    return Dataset(**d, path=doc.path)


def _credentials(raw: Mapping[str, Any] | None) -> Mapping[str, EnvRef | str]:
    return freeze({k: _env(v) for k, v in (raw or {}).items()})


def _outputs(raw: Mapping[str, Any] | None) -> OutputsTarget | None:
    if not raw:
        return None
    return OutputsTarget(remote=raw["remote"], credentials=_credentials(raw.get("credentials")),
                         licence=raw.get("licence"))


def infrastructure(doc: Document) -> Infrastructure:
    d = dict(doc.data)
    limits, poll = d.pop("limits", {}), d.pop("poll_interval", {})
    for key in ("user", "key", "password", "known_hosts"):
        if key in d:
            d[key] = _env(d[key])
    d["modules"] = tuple(d.get("modules", []))
    d["volumes"] = tuple(d.get("volumes", []))
    d["environment"] = freeze(d.get("environment", {}))
    if "api" in d:
        d["api"] = SlurmApi(d["api"]["url"].rstrip("/"), _env(d["api"]["token"]))
    if "openstack" in d:
        d["openstack"] = _openstack(d["openstack"])
    if "bandwidth" in d:
        d["bandwidth"] = rate(d["bandwidth"])
    return Infrastructure(**d, max_parallel=limits.get("max_parallel"),
                          max_array_size=limits.get("max_array_size"),
                          max_submitted=limits.get("max_submitted"),
                          max_walltime=limits.get("max_walltime"),
                          poll_min=float(poll.get("min", 1.0)), poll_max=float(poll.get("max", 60.0)),
                          path=doc.path)


def _openstack(raw: Mapping[str, Any]) -> OpenStack:
    o = dict(raw)
    o["auth"] = tuple(o.get("auth", ()))
    for key in ("keep_for", "boot_timeout"):
        if key in o:
            o[key] = seconds(o[key])
    return OpenStack(**o)


_RATE = {"B": 1, "bit": 1 / 8}
_PREFIX = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def rate(text: str) -> float:
    """`100 MB/s`, `1 Gbit/s` -> bytes per second (the schema checked the form)."""
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?) ?([kMGT]?)(B|bit)/s", text.strip())
    return float(m[1]) * _PREFIX[m[2]] * _RATE[m[3]]


def seconds(text: str | int | float) -> float:
    """`90`, `90s`, `30m`, `1h30m`, `2d` in seconds (the schema has checked the form)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return float(sum(float(n) * units[u or "s"]
                     for n, u in re.findall(r"(\d+(?:\.\d+)?)([smhd]?)", str(text))))


def _binding(raw: Any) -> InputBinding:
    if isinstance(raw, str):
        return InputBinding(dataset=raw)
    return InputBinding(step=raw["step"], path=raw["path"])


def _bindings(raw: Mapping[str, Any] | None) -> Mapping[str, InputBinding]:
    return freeze({k: _binding(v) for k, v in (raw or {}).items()})


def split_ref(ref: str) -> tuple[str, str | None]:
    """`heat@1.2.0` -> ('heat', '1.2.0'); `heat` -> ('heat', None)."""
    name, _, version = ref.partition("@")
    return name, version or None


def experiment(doc: Document) -> Experiment:
    d = doc.data
    app, version = split_ref(d["application"])
    declared = d.get("infrastructure", "local")
    infra, candidates = _places(declared)
    raw_steps = d.get("steps") or [{"name": MAIN}]
    steps = tuple(Step(name=s["name"], application=split_ref(s.get("application", app))[0],
                       infrastructure=_places(s.get("infrastructure", declared))[0],
                       candidates=_places(s.get("infrastructure", declared))[1],
                       parameters=freeze(s.get("parameters", {})), inputs=_bindings(s.get("inputs")),
                       resources=resources(s.get("resources")), needs=tuple(s.get("needs", [])))
                  for s in raw_steps)
    matrix = dict(d.get("matrix", {}))
    exclude = matrix.pop("exclude", [])
    return Experiment(
        name=d["name"], application=app, application_version=version, infrastructure=infra,
        steps=steps, description=d.get("description", ""), owners=tuple(d.get("owners", [])),
        parameters=freeze(d.get("parameters", {})),
        matrix=tuple((k, freeze(v)) for k, v in matrix.items()), exclude=freeze(exclude),
        inputs=_bindings(d.get("inputs")), resources=resources(d.get("resources")),
        keep_workdir=d.get("keep_workdir"), tags=tuple(d.get("tags", [])),
        outputs=_outputs(d.get("outputs")), publish_outputs=bool(d.get("publish_outputs", False)),
        plots=tuple(PlotSpec(**p) for p in d.get("plots", [])), path=doc.path,
        candidates=candidates,
        placement=d.get("placement", "auto") if any(s.candidates for s in steps) else None)


def _places(value: str | list[str]) -> tuple[str, tuple[str, ...]]:
    """`cluster` -> ('cluster', ()); `[cluster, cloud]` -> ('cluster', ('cluster', 'cloud'))."""
    return (value[0], tuple(value)) if isinstance(value, list) else (value, ())


BUILDERS = {"application": application, "dataset": dataset,
            "infrastructure": infrastructure, "experiment": experiment}
