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

from runner.declarations.models import Dataset

SIDECAR = "{name}.manifest"          # beside datasets/<name>.yaml
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


def text(manifest: Mapping[str, str]) -> str:
    """The manifest in sha256sum's format, sorted by path."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(manifest.items()))


def parse(body: str, where: str) -> dict[str, str]:
    """A manifest read from sha256sum-format text; a ValueError names the first bad line."""
    found = {}
    for n, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if not m or m.group(2).startswith("/") or ".." in m.group(2).split("/"):
            raise ValueError(f"{where}:{n}: expected `<sha256>  <path inside the folder>`")
        found[m.group(2)] = m.group(1)
    return found


def sidecar(root: Path, name: str) -> Path:
    """Where a dataset's manifest file is kept."""
    return Path(root) / "datasets" / SIDECAR.format(name=name)


def is_folder(ds: Dataset) -> bool:
    return ds.location.endswith("/") or ds.manifest is not None


def content_id(ds: Dataset) -> str | None:
    """The dataset's content hash (a folder's manifest hash, a file's sha256); None when the
    catalogue does not say (then the data is hashed after every transfer)."""
    if ds.manifest is not None:
        return hashlib.sha256(text(ds.manifest).encode()).hexdigest()
    return None if is_folder(ds) else ds.sha256
