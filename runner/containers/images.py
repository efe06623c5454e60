"""`.mso/images.json`: what `mso build` built or resolved, for the run stage (a CI artifact).

    {"format": 1,
     "images": {"heat": {"reference": "registry.example.org/g/p/heat:1.2.0-0123456789ab",
                         "pinned": "registry.example.org/g/p/heat@sha256:...",
                         "tag": "1.2.0-0123456789ab", "digest": "sha256:...",
                         "builder": "ch-image", "source": "build"}}}

`digest` and `pinned` are null for an image built here but not pushed (no credentials).
`source` is "build" (a recipe) or "image" (a declared reference, resolved to its digest).
No credential is ever in it. Written atomically: a reader sees the old or the new file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from runner.containers.reference import parse
from runner.errors import ContainerError
from runner.fsutil import write_atomic

FORMAT = 1
RELATIVE = Path(".mso") / "images.json"


@dataclass(frozen=True)
class Image:
    """One application's image as recorded."""

    reference: str
    tag: str | None
    digest: str | None
    builder: str | None
    source: str = "build"

    @property
    def pinned(self) -> str | None:
        """name@digest, the form a runtime pulls by (None when there is no digest)."""
        return parse(self.reference).with_digest(self.digest).pinned if self.digest else None


def path(root: Path) -> Path:
    return Path(root) / RELATIVE


def read(root: Path) -> dict[str, Image]:
    """Every recorded image by application name ({} when nothing was built yet)."""
    file = path(root)
    if not file.exists():
        return {}
    try:
        data = json.loads(file.read_text())
        return {app: Image(**{k: v for k, v in entry.items() if k != "pinned"})
                for app, entry in data["images"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ContainerError(f"{file} is unreadable ({exc}); delete it and run `mso build` "
                             "again") from None


def record(root: Path, found: dict[str, Image], keep: set[str]) -> None:
    """Merge `found` into the file, dropping applications not in `keep` (no longer declared)."""
    images = {k: v for k, v in read(root).items() if k in keep}
    for app, img in found.items():
        old = images.get(app)
        if img.digest is None and old and old.reference == img.reference:
            img = replace(img, digest=old.digest)   # built again, not pushed: still that image
        images[app] = img
    body = {"format": FORMAT,
            "images": {app: {**asdict(img), "pinned": img.pinned}
                       for app, img in sorted(images.items())}}
    write_atomic(path(root), json.dumps(body, indent=2) + "\n")
