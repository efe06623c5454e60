"""Find, load and validate every declaration of a repository into one frozen Repository."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from runner.errors import Location, SpecError, SpecErrors
from runner.declarations import (construct, crossref, datacheck, logfilters, manifest, salvage,
                                  schema, yamlload)
from runner.declarations.models import Repository

FOLDERS = {"application": "applications", "dataset": "datasets",
           "infrastructure": "infrastructures", "experiment": "experiments"}
KIND_OF_FOLDER = {v: k for k, v in FOLDERS.items()}
SUFFIXES = (".yaml", ".yml")


@dataclass
class Loaded:
    """A repository as far as it validated, and every error found on the way."""

    repo: Repository
    errors: list[SpecError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def declaration_files(root: Path) -> list[tuple[str, Path]]:
    """(kind, path) of every declaration: the YAML files directly inside the four folders."""
    found = []
    for kind, folder in FOLDERS.items():
        base = root / folder
        if base.is_dir():
            found += [(kind, p) for p in sorted(base.iterdir())
                      if p.suffix in SUFFIXES and not p.name.startswith(".") and not p.is_dir()]
    return found


def load(root: Path) -> Loaded:
    """Load and check everything; never raises for bad input, collects errors instead."""
    loading = _Loading(root)
    for kind, path in declaration_files(root):
        loading.add(kind, path)
    return loading.finish()


class _Loading:
    """One load: the records that proved valid, the names that did not, every error so far."""

    def __init__(self, root: Path) -> None:
        self.root, self.top = root, root.resolve()
        self.reader = yamlload.Reader()  # this load's caches: the next load starts afresh
        self.records: dict[str, dict] = {kind: {} for kind in FOLDERS}
        self.broken: dict[str, set[str]] = {kind: set() for kind in FOLDERS}
        self.docs: dict[str, yamlload.Document] = {}
        self.salvaged: list[tuple[str, salvage.Salvaged]] = []
        self.errors: list[SpecError] = []
        self.files: list[str] = []

    def add(self, kind: str, path: Path) -> None:
        display = path.relative_to(self.root).as_posix()
        self.files.append(display)
        self.broken[kind].add(path.stem)  # until it proves valid
        if path.is_symlink() and not path.resolve().is_relative_to(self.top):
            self.errors.append(SpecError(Location(display, 1, 1), "the file is a symlink to "
                                         f"{path.resolve()}, outside the repository",
                                         "declarations must be committed in the repository"))
            return
        try:
            doc = self.reader.load(path, display)
        except SpecError as exc:
            self.errors.append(exc)
            return
        problems = schema.check(doc, kind)
        misnamed = _name_matches_file(doc, path)
        if problems or misnamed:
            self.errors += problems + misnamed
            part = salvage.salvage(doc, kind) if problems else salvage.Salvaged(doc)
            if part is not None:
                self.salvaged.append((kind, part))
            return
        record = self._record(kind, doc)
        if record is None:
            return
        if record.name in self.records[kind]:
            self.errors.append(SpecError(doc.where(("name",)), f"{kind} '{record.name}' is "
                                         "declared twice (also in "
                                         f"{self.records[kind][record.name].path})"))
            return
        self.records[kind][record.name] = record
        self.broken[kind].discard(record.name)
        self.docs[display] = doc

    def _record(self, kind: str, doc: yamlload.Document) -> Any:
        """The record of a schema-valid document, with what it names in other files (a filter
        file, a manifest sidecar) read; None when one of those is wrong (its errors kept)."""
        if kind == "application" and isinstance(doc.data.get("logs"), dict):
            logs, problems = logfilters.from_file(doc, self.root, self.reader)
            self.errors += problems
            return None if problems else construct.application(doc, logs)
        if kind == "dataset":
            listed, problems = manifest.load_sidecar(doc, self.root)
            self.errors += problems
            return None if problems else construct.dataset(doc, listed)
        return construct.BUILDERS[kind](doc)

    def finish(self) -> Loaded:
        repo = Repository(root=str(self.top), **{FOLDERS[k]: v for k, v in self.records.items()})
        errors = self.errors + crossref.check(repo, self.docs, self.broken)
        for kind, part in self.salvaged:
            errors += self._cross_errors(repo, kind, part)
        return Loaded(repo, _unique(errors), self.files)

    def _cross_errors(self, repo: Repository, kind: str, part: salvage.Salvaged) -> list[SpecError]:
        """The cross-file errors of a file that broke its schema, as far as it can be checked:
        the others see it as broken (it is not in `repo`), so only its own checks run."""
        try:
            record = construct.BUILDERS[kind](part.doc)
        except (KeyError, TypeError, ValueError):  # what was cut leaves too little to build
            return []
        folder = FOLDERS[kind]
        if record.name in getattr(repo, folder):
            return []  # another file declares that name: this one's errors are said already
        alone = dataclasses.replace(repo, **{folder: {**getattr(repo, folder), record.name: record}})
        found = crossref.check(alone, {**self.docs, record.path: part.doc}, self.broken,
                               only={record.path})
        return [e for e in found if part.keeps(e)]


def _name_matches_file(doc: yamlload.Document, path: Path) -> list[SpecError]:
    name = doc.data.get("name")
    if name != path.stem:
        return [SpecError(doc.where(("name",)), f"the name {name!r} differs from the file name",
                          f"name the file {name}{path.suffix} or set `name: {path.stem}`")]
    return []


def _unique(errors: Iterable[SpecError]) -> list[SpecError]:
    """Each error once, on one printable line (a key may hold a newline)."""
    seen, out = set(), []
    for err in map(_printable, errors):
        text = err.render()
        if text not in seen:
            seen.add(text)
            out.append(err)
    return out


def _printable(err: SpecError) -> SpecError:
    w = err.where
    texts = (w.path, w.breadcrumb, err.message, err.hint)
    if all(t.isprintable() for t in texts):
        return err
    path, crumb, message, hint = (_escape(t) for t in texts)
    return SpecError(Location(path, w.line, w.col, crumb), message, hint)


def _escape(text: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def require_root(root: Path) -> None:
    """Raise SpecErrors unless `root` holds at least one of the four folders."""
    if not any((root / f).is_dir() for f in FOLDERS.values()):
        raise SpecErrors([SpecError(Location(str(root)), "not an mso repository: none of "
                                    f"{', '.join(FOLDERS.values())} is here",
                                    "run mso in the repository's top folder, or `mso init DIR`")])


def load_valid(root: Path, data: bool = False) -> Repository:
    """The repository, or SpecErrors listing everything wrong with it; `data`: also each dataset
    kept in the repository whose data no longer has its declared sha256 (`mso validate --data`)."""
    require_root(root)
    loaded = load(root)
    if loaded.errors:
        raise SpecErrors(loaded.errors)
    if data and (changed := datacheck.errors(loaded.repo)):
        raise SpecErrors(changed)
    return loaded.repo


def kind_of(path: Path, root: Path) -> str | None:
    """The kind of declaration a path is, from its folder; None for other files."""
    rel = relative(path, root)
    if rel is not None and len(rel.parts) == 2 and rel.suffix in SUFFIXES:
        return KIND_OF_FOLDER.get(rel.parts[0])
    return None


def relative(path: Path, root: Path) -> Path | None:
    """`path` relative to `root`: as written, or else with symlinks resolved; None if outside."""
    try:
        return path.absolute().relative_to(root.absolute())
    except ValueError:
        try:
            return path.resolve().relative_to(root.resolve())
        except ValueError:
            return None
