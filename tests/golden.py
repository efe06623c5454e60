"""Golden files: a rendered script must equal the recorded one, with a diff that explains itself."""

from __future__ import annotations

import difflib
import os
from pathlib import Path


def check_golden(path: Path, text: str) -> None:
    """Compare with the golden file; MSO_UPDATE_GOLDEN=1 rewrites it (for changes on purpose)."""
    if os.environ.get("MSO_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    expected = path.read_text()
    diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                        f"golden/{path.name}", "rendered"))
    assert text == expected, f"the script changed; if on purpose, rerun with MSO_UPDATE_GOLDEN=1:\n{diff}"
