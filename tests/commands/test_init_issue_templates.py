"""`mso init` writes the issue templates the book's Help page links to, the same as mso's own."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT, mso

TEMPLATES = ("question", "bug", "new-application")


def test_init_writes_the_issue_templates_of_this_repository(tmp_path: Path) -> None:
    proc = mso("init", "lab", "--json", repo=tmp_path)
    assert proc.returncode == 0, proc.stderr
    files = set(json.loads(proc.stdout)["files"])
    for name in TEMPLATES:
        rel = f".gitlab/issue_templates/{name}.md"
        assert rel in files
        written = (tmp_path / "lab" / rel).read_text()
        assert written == (ROOT / rel).read_text(), f"{rel} differs from mso's own"
        assert "\n## " in written and "{{mso:" not in written
    assert not any("dot-" in f for f in files)


def test_each_template_asks_what_its_kind_needs() -> None:
    question, bug, app = ((ROOT / f".gitlab/issue_templates/{n}.md").read_text() for n in TEMPLATES)
    assert "## What I tried" in question and "/label ~question" in question
    assert "## How to see it again" in bug and "mso --version" in bug
    assert "applications/<name>.yaml" in app and "Result metrics" in app
