"""What must never reach the published site: private data, secrets, and live HTML from user text."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.book.conftest import (
    HOSTILE,
    PRIVATE_DESCRIPTION,
    PRIVATE_LOCATION,
    SECRET_VALUE,
)


def _all_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file()]


def test_private_dataset_shows_only_its_name(built: Path) -> None:
    secret = json.loads(next((built / "results/noisy").glob("*/run.json")).read_text())
    checksum = secret["datasets"]["secret-field"]
    needles = [PRIVATE_LOCATION.encode(), b"secret-field-7f3a9c", PRIVATE_DESCRIPTION.encode(),
               checksum.encode()]
    for folder in (built / "site", built / ".mso/book/docs"):
        for path in _all_files(folder):
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, f"{needle!r} leaked into {path}"
    page = (built / ".mso/book/docs/datasets/secret-field.md").read_text()
    assert page.startswith("# secret-field\n\nThis dataset is **private**")
    run_page = next((built / ".mso/book/docs/runs/noisy").glob("*/index.md")).read_text()
    assert "| [secret-field](../../../datasets/secret-field.md) | private |" in run_page


def test_no_secret_value_and_no_machine_path_in_the_site(built: Path) -> None:
    for path in _all_files(built / "site") + _all_files(built / ".mso/book/docs"):
        data = path.read_bytes()
        assert SECRET_VALUE.encode() not in data, path
        if path.suffix in (".md", ".html"):
            assert str(built).encode() not in data, f"absolute path in {path}"


def test_hostile_text_is_inert_in_every_page(built: Path) -> None:
    html_files = [p for p in _all_files(built / "site") if p.suffix == ".html"]
    assert len(html_files) > 20
    live = re.compile(r"<script>alert\(\d\)</script>|<img src=x onerror|<b>almost</b>"
                      r"|<[^>]*\sonclick=|href=\"javascript:|<i>one</i>")
    for path in html_files:
        text = path.read_text("utf-8")
        assert not live.search(text), f"{live.search(text).group(0)} is live in {path}"
    page = (built / "site/experiments/noisy.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x" in page
    index = (built / "site/experiments/index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x</td>" in index   # the pipe stayed in its cell
    assert HOSTILE not in index


def test_log_stdout_and_stderr_are_escaped_on_the_run_page(built: Path) -> None:
    page = next((built / "site/runs/noisy").glob("*/index.html")).read_text()
    assert "warn disk &lt;b&gt;almost&lt;/b&gt; full | [click](javascript:alert(5))" in page
    assert "noisy says &lt;script&gt;alert(4)&lt;/script&gt;" in page
    assert "stderr line &lt;i&gt;one&lt;/i&gt;" in page


def test_an_html_output_is_copied_as_text(built: Path) -> None:
    run = next((built / "site/runs/noisy").glob("*/"))
    assert list(run.rglob("evil.html")) == []
    [copied] = list(run.rglob("evil.html.txt"))
    assert copied.read_text() == "<script>alert(3)</script>"
    assert (copied.parent / "table.csv").is_file()
    page = (run / "index.html").read_text()
    assert 'href="main-0000/out/evil.html.txt"' in page
