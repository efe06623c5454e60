"""What the stage-in tests share: an application that reads its inputs and says what it saw, and
datasets written onto the real remotes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.data.conftest import Remotes

READER_APP = """\
name: reader
version: "1"
description: Hashes each input it is given and says how it was given (links, modes).
command: [python3, read.py, "{label}", "{inputs.a}", "{inputs.b}", "{inputs.c}", "{inputs.d}"]
parameters:
  type: object
  properties:
    label: {type: string}
inputs:
  a: {description: any file or folder}
  b: {description: any file or folder}
  c: {description: any file or folder}
  d: {description: any file or folder}
outputs: [out.json]
"""

READER_PY = """\
import hashlib, json, os, stat, sys
seen = {}
for path in sys.argv[2:]:
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs)
    text = "".join(hashlib.sha256(open(f, "rb").read()).hexdigest() + "  " +
                   os.path.relpath(f, path) + "\\n" for f in files)
    st = [os.stat(f) for f in files]
    seen[path] = {"sha256": hashlib.sha256(open(path, "rb").read()).hexdigest()
                  if os.path.isfile(path) else hashlib.sha256(text.encode()).hexdigest(),
                  "links": min(s.st_nlink for s in st),
                  "writable": any(stat.S_IMODE(s.st_mode) & 0o222 for s in st)}
json.dump(seen, open("out.json", "w"))
"""

ONLY_A = READER_APP.replace(', "{inputs.b}", "{inputs.c}", "{inputs.d}"', "").replace(
    "  b: {description: any file or folder}\n  c: {description: any file or folder}\n"
    "  d: {description: any file or folder}\n", "")


def add_reader(repo: Path, one_input: bool = False) -> None:
    (repo / "applications" / "reader").mkdir()
    (repo / "applications" / "reader.yaml").write_text(ONLY_A if one_input else READER_APP)
    (repo / "applications" / "reader" / "read.py").write_text(READER_PY)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_dataset(repo: Path, remotes: Remotes, name: str, data: bytes, *,
                 declared: str | None = None) -> str:
    """A file on the WebDAV remote and its catalogue entry; its sha256."""
    (remotes.webdav / f"{name}.bin").write_bytes(data)
    (repo / "datasets" / f"{name}.yaml").write_text(
        f"name: {name}\ndescription: a file on WebDAV\n"
        f"location: dav:{remotes.folder}/{name}.bin\nsha256: {declared or sha(data)}\n"
        f"size: {len(data)}\n" + remotes.yaml("dav"))
    return sha(data)


def flipped(repo: Path, remotes: Remotes, name: str, size: int, at: int) -> tuple[str, str]:
    """A file dataset catalogued with its sha256, then one bit of it flipped on the remote:
    (the catalogue's hash, the hash of what the remote now serves)."""
    data = bytearray(os.urandom(size))
    good = file_dataset(repo, remotes, name, bytes(data))
    data[at] ^= 0x01
    (remotes.webdav / f"{name}.bin").write_bytes(bytes(data))
    return good, sha(bytes(data))


def folder_dataset(repo: Path, remotes: Remotes, name: str, files: dict[str, bytes]) -> str:
    """A folder on the WebDAV remote with its manifest in the entry; its content hash."""
    for rel, data in files.items():
        (remotes.webdav / name / rel).parent.mkdir(parents=True, exist_ok=True)
        (remotes.webdav / name / rel).write_bytes(data)
    manifest = {rel: sha(data) for rel, data in sorted(files.items())}
    (repo / "datasets" / f"{name}.yaml").write_text(
        f"name: {name}\ndescription: a folder on WebDAV\n"
        f"location: dav:{remotes.folder}/{name}/\nmanifest: {json.dumps(manifest)}\n"
        + remotes.yaml("dav"))
    return sha("".join(f"{d}  {p}\n" for p, d in manifest.items()).encode())


def experiment(repo: Path, name: str, infra: str, labels: int, inputs: dict[str, str],
               app: str = "reader@1") -> None:
    binding = ", ".join(f"{k}: {v}" for k, v in inputs.items())
    (repo / "experiments" / f"{name}.yaml").write_text(
        f"name: {name}\napplication: {app}\ninfrastructure: {infra}\n"
        f"matrix: {{label: [{', '.join(f'l{i}' for i in range(labels))}]}}\n"
        f"inputs: {{{binding}}}\n")


def record(repo: Path, name: str) -> dict:
    """The experiment's newest run record."""
    runs = sorted((repo / "results" / name).glob("*/run.json"))
    return json.loads(runs[-1].read_text())


def outputs(repo: Path, rec: dict) -> list[dict]:
    folder = repo / "results" / rec["experiment"] / rec["run_id"]
    return [json.loads((folder / t["id"] / "out.json").read_text()) for t in rec["tasks"]]
