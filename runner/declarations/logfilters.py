"""An application's log filters, in MSO4SC's format: a list with one entry per log file,
`{filename, filters: [{pattern, severity, verbosity, progress, action, skip, ...}]}`, written in
the application's YAML under `logs:`, or kept in a YAML or JSON file of the application's folder
named by `logs: {filters: applications/<name>/FILE}` (the file MSO4SC's blueprints shipped).

Severities are words, or remotelogger-cli's integers: 0 none (mso's default, INFO), 1 INFO,
2 WARNING, 3 ERROR, 4 OK (its README lists NONE, INFO, WARNING, ERROR, SUCCESS in that order).
A filter's keys other than the known ones are free attributes, kept with the lines it matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from yaml.nodes import SequenceNode

from runner.errors import Location, SpecError
from runner.declarations import patterns, schema
from runner.declarations.messages import COMMON, Ctx, explain
from runner.declarations.models import LogFilter, LogSpec, freeze
from runner.declarations.paths import outside, unsafe_path
from runner.declarations.yamlload import Document, Reader

SEVERITIES = {0: "INFO", 1: "INFO", 2: "WARNING", 3: "ERROR", 4: "OK"}
KNOWN = ("pattern", "severity", "verbosity", "progress", "action", "skip")


@dataclass(frozen=True, eq=False)
class Place:
    """Where a value is written (`str()` is `file:line:col`), found only when asked: a document
    composes its node tree again for a position, which a load of many files should not pay."""

    doc: Document
    keys: tuple

    def location(self) -> Location:
        return self.doc.where(self.keys)

    def __str__(self) -> str:
        loc = self.location()
        return f"{loc.path}:{loc.line}:{loc.col or 1}"


def specs(doc: Document, raw: Any, keys: tuple = ("logs",)) -> tuple[LogSpec, ...]:
    """The log files of a schema-valid list (`raw`, written in `doc` at `keys`)."""
    return tuple(LogSpec(lg.get("filename", lg.get("path", "")),
                         tuple(_filter(f, Place(doc, keys + (i, "filters", j, "pattern")))
                               for j, f in enumerate(lg.get("filters") or [])),
                         Place(doc, keys + (i, "filename" if "filename" in lg else "path")))
                 for i, lg in enumerate(raw))


def _filter(f: dict, where: Place) -> LogFilter:
    severity = f.get("severity", "INFO")
    return LogFilter(pattern=f["pattern"],
                     severity=SEVERITIES[severity] if isinstance(severity, int) else severity,
                     verbosity=f.get("verbosity") or 0, progress=f.get("progress"),
                     action=f.get("action", "match"), skip=bool(f.get("skip", False)),
                     attributes=freeze({k: v for k, v in f.items() if k not in KNOWN}),
                     where=where)


def problems(logs: tuple[LogSpec, ...], doc: Document) -> list[SpecError]:
    """What `mso validate` says of an application's logs (`doc`): their paths stay in the work
    dir, and every pattern compiles with the engine that runs it."""
    errors = []
    for i, log in enumerate(logs):
        if why := unsafe_path(log.path):
            errors.append(SpecError(_place(log.where, doc, ("logs", i, "path")),
                                    f"log {log.path!r} escapes the run directory: {why}"))
        for j, f in enumerate(log.filters):
            if bad := patterns.problem(f.pattern, f.action):
                at = f" at position {bad.pos}" if bad.pos is not None else ""
                errors.append(SpecError(_place(f.where, doc, ("logs", i, "filters", j, "pattern")),
                                        f"not a valid regular expression: {bad}{at}"))
    return errors


def _place(where: object, doc: Document, keys: tuple) -> Location:
    """Where a log's value is written (it may be in the application's filter file)."""
    found = getattr(where, "location", None)
    return found() if found else doc.where(keys)


def from_file(doc: Document, root: Path, reader: Reader) -> tuple[tuple[LogSpec, ...], list[SpecError]]:
    """The log files of an application whose `logs: {filters: PATH}` names a filter file."""
    rel = doc.data["logs"]["filters"]
    name = doc.data.get("name")
    where = doc.where(("logs", "filters"))
    folder = f"applications/{name}/"
    if why := unsafe_path(rel):
        return (), [SpecError(where, f"{rel!r} leaves the repository: {why}")]
    if not rel.startswith(folder) or rel == folder:
        return (), [SpecError(where, f"{rel!r} is not in the application's folder",
                              f"keep the filter file in {folder} and write `filters: {folder}FILE`")]
    if why := outside(str(root), rel) or _leaves(root, folder, rel):
        return (), [SpecError(where, f"{rel!r} {why}", "paths are relative to the repository's "
                              "top folder")]
    try:
        listed = reader.load(root / rel, rel, top=SequenceNode)
    except SpecError as exc:
        return (), [exc]
    errors = explain(_validator().iter_errors(listed.data), Ctx(listed, _schema(), common=_common()))
    return ((), errors) if errors else (specs(listed, listed.data, ()), [])


def _leaves(root: Path, folder: str, rel: str) -> str:
    """Why the file, its links followed, is not in the application's folder ('' when it is)."""
    real = (root / rel).resolve()
    if not real.is_relative_to((root / folder).resolve()):
        return f"leads to {real}, outside {folder}"
    return "" if real.is_file() else "is not a file"


@cache
def _schema() -> dict:
    app = schema.schema("application")
    return {"$schema": app["$schema"], "$defs": app["$defs"], "$ref": "#/$defs/logfiles"}


@cache
def _common() -> dict:
    return schema.schema("common")


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    registry = Registry().with_resource(COMMON, Resource.from_contents(_common()))
    return Draft202012Validator(_schema(), registry=registry)
