"""A folder dataset's manifest: the sha256 of each of its files, by path inside the folder.

It is kept in the dataset's entry (`manifest:`) or beside it in `datasets/<name>.manifest`, in
`sha256sum`'s format (`<hex>  <path>`, one a line, sorted by path), so `sha256sum -c` checks a
copy anywhere. The dataset's content hash, which names it in a host's cache and in the
identities of the tasks that read it, is the sha256 of that text; a file dataset's is its sha256.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from runner.declarations.models import Dataset, freeze
from runner.declarations.yamlload import Document
from runner.errors import Location, SpecError
from runner.fsutil import sha256_file

SIDECAR = "{name}.manifest"          # beside datasets/<name>.yaml
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


def text(manifest: Mapping[str, str]) -> str:
    """The manifest in sha256sum's format, sorted by path."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(manifest.items()))


class BadLine(ValueError):
    """A line of a manifest that is not `<sha256>  <path inside the folder>`."""

    def __init__(self, where: str, line: int, why: str) -> None:
        self.where, self.line, self.why = where, line, why
        super().__init__(f"{where}:{line}: {why}")


def parse(body: str, where: str) -> dict[str, str]:
    """A manifest read from sha256sum-format text; a BadLine (a ValueError) names the first
    bad line."""
    found: dict[str, str] = {}
    for n, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if not m or m.group(2).startswith("/") or ".." in m.group(2).split("/"):
            raise BadLine(where, n, "expected `<sha256>  <path inside the folder>`")
        if m.group(2) in found:
            raise BadLine(where, n, f"{m.group(2)} is listed twice")
        found[m.group(2)] = m.group(1)
    return found


def of_folder(path: Path) -> dict[str, str]:
    """The manifest of a folder as it is on disk: every file's sha256, by path inside it."""
    return {p.relative_to(path).as_posix(): sha256_file(p)
            for p in sorted(path.rglob("*")) if p.is_file()}


def sidecar(root: Path, name: str) -> Path:
    """Where a dataset's manifest file is kept."""
    return Path(root) / "datasets" / SIDECAR.format(name=name)


def load_sidecar(doc: Document, root: Path
                 ) -> tuple[Mapping[str, str] | None, list[SpecError]]:
    """The manifest kept beside a dataset's entry (None when there is none), or the errors of a
    malformed sidecar or of a manifest given both inline and in a sidecar."""
    file = sidecar(root, str(doc.data.get("name", "")))
    try:
        body = file.read_text("utf-8")
    except FileNotFoundError:
        return None, []
    except (OSError, UnicodeDecodeError) as exc:
        return None, [SpecError(Location(_shown(file, root)), f"cannot read the manifest: {exc}")]
    shown = _shown(file, root)
    if "manifest" in doc.data:
        return None, [SpecError(doc.where(("manifest",), on_key=True),
                                f"the manifest is given here and in {shown}",
                                f"keep one: delete {shown} or this `manifest:`")]
    try:
        found = parse(body, shown)
    except BadLine as bad:
        return None, [SpecError(Location(shown, bad.line, 1), bad.why,
                                "write it again with `mso dataset add ... --force`, or "
                                "`sha256sum` run inside the folder")]
    if not found:
        return None, [SpecError(Location(shown), "the manifest lists no file",
                                "delete it, or list the folder's files")]
    return freeze(found), []


def _shown(file: Path, root: Path) -> str:
    return file.relative_to(root).as_posix() if file.is_relative_to(root) else str(file)


def digest(manifest: Mapping[str, str]) -> str:
    """A folder's content hash: the sha256 of its manifest's text."""
    return hashlib.sha256(text(manifest).encode()).hexdigest()


def is_folder(ds: Dataset) -> bool:
    return ds.location.endswith("/") or ds.manifest is not None


def content_id(ds: Dataset) -> str | None:
    """The dataset's content hash (a folder's manifest hash, a file's sha256); None when the
    catalogue does not say (then the data is hashed after every transfer)."""
    if ds.manifest is not None:
        return digest(ds.manifest)
    return None if is_folder(ds) else ds.sha256
