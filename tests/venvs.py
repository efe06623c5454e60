"""A new virtual environment with mso installed by pip from a folder, in seconds rather than minutes.

Installing mso's dependencies afresh (mkdocs-material, paramiko, numpy, ...) takes minutes on a
2-core machine and needs the network, and what it would check, that pip resolves them, is not
what these tests are about. So the venv is real and new (`python -m venv`, its own interpreter
and bin/), mso is installed into it by pip from the folder, as a user would, with its real
`mso` entry point, but its dependencies come from the test's own venv through a `.pth` line.
That line only adds a folder to sys.path: the test venv's own mso (an editable install whose
finder is a .pth file there) is not loaded, so `runner` resolves to what pip installed.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def purelib(python: Path) -> Path:
    """The site-packages folder of an interpreter."""
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True, timeout=60)
    return Path(out.stdout.strip())


def new_venv(venv: Path) -> Path:
    """A new venv at `venv` that borrows this interpreter's dependencies; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    (purelib(python) / "mso-test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    return python


def pip_install(python: Path, *args: str) -> subprocess.CompletedProcess:
    """`pip install --no-deps ARGS` into the venv of `python`, run by this interpreter's pip.

    The build keeps pip's isolation: it takes the setuptools that pyproject.toml asks for from
    the configured index, as scripts/venv does (this venv's setuptools may be older).
    """
    return subprocess.run([*PIP, "--python", str(python), "install", "-q", "--no-deps", *args],
                          capture_output=True, text=True, timeout=300, check=False)
