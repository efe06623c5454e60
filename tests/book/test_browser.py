"""A real browser opens a built run page over HTTP: it renders, and the task table is there.

Needs Debian's chromium (`.ci/services/browser-up` installs it). Without it the test skips
locally and fails under CI=true, where the browser is part of the contract.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.book.browser import HEIGHT, WIDTH, browser


@pytest.fixture
def served(built: Path) -> Iterator[str]:
    """The built site served by `python -m http.server` on 127.0.0.1 (a free port)."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                             "--directory", str(built / "site")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()   # "Serving HTTP on 127.0.0.1 port 41234 (http://...) ..."
        port = int(line.split(" port ")[1].split()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.integration
def test_run_page_renders_in_a_real_browser(chromium: str, built: Path, served: str,
                                            tmp_path: Path) -> None:
    binary = chromium
    [record] = (built / "results/heat-sweep").glob("*/run.json")
    run = json.loads(record.read_text())
    url = f"{served}/runs/heat-sweep/{run['run_id']}/"

    shot = tmp_path / "run-page.png"
    done = browser(binary, tmp_path / "profile", f"--screenshot={shot}", url)
    assert shot.is_file(), done.stderr[-2000:]
    assert _png_size(shot) == (WIDTH, HEIGHT)
    assert shot.stat().st_size > 40_000, "the screenshot is (nearly) blank"

    dom = browser(binary, tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert f"Run {run['run_id']}" in html
    table = html.split('id="tasks"', 1)[1].split("</table>", 1)[0]
    for task in run["tasks"]:
        assert f'href="#{task["id"]}"' in table
    assert table.count('class="mso-state mso-succeeded"') == len(run["tasks"])
    assert 'class="md-search__input"' in html   # the theme's page, not a bare HTML file
    print(f"screenshot: {shot}")
