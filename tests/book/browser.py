"""Debian's headless Chromium, run as a person's browser would be: find it, load a page, read it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import unavailable

WIDTH, HEIGHT = 1400, 2000


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser to use, or skip (locally) / fail (CI) saying how to get one."""
    wanted = os.environ.get("MSO_CHROMIUM")   # set to a missing path to try the absent case
    candidates = [wanted] if wanted else [shutil.which("chromium"), "/usr/bin/chromium"]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    unavailable("chromium is not installed (sudo .ci/services/browser-up installs it)")


def browser(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with `args` (a --screenshot or --dump-dom and a URL)."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars",
             "--virtual-time-budget=10000"]   # let the theme's scripts run before the capture
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=180)
