"""The wheel is complete: built from a clone of HEAD (`python -m build`: the sdist, then the wheel
from the sdist), installed with its dependencies from the package index into a fresh venv (not
editable), it scaffolds, validates, runs and books a new repository in a folder of its own.

Building and installing takes about a minute (pip's cache helps), so it happens once per test
session: the first worker that needs it builds it under a lock in the session's shared temp
folder, and the other reuses it (pytest-xdist's recipe for a session fixture run once).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, unavailable

UNREACHABLE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable")


def run(*words: str | Path, cwd: Path, timeout: float = 600,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(w) for w in words], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert done.returncode == 0, f"{words}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def build(into: Path) -> Path:
    """Clone HEAD, build its sdist and wheel, install the wheel into a new venv; returns it."""
    run("git", "clone", "-q", ROOT, into / "mso", cwd=into)
    run(sys.executable, "-m", "build", "--outdir", into / "dist", into / "mso", cwd=into)
    [wheel] = (into / "dist").glob("*.whl")
    run(sys.executable, "-m", "venv", into / "venv", cwd=into)
    pip = subprocess.run([str(into / "venv/bin/python"), "-m", "pip", "install", "-q",
                          "--disable-pip-version-check", str(wheel)],
                         capture_output=True, text=True, timeout=900, cwd=into)
    if pip.returncode and any(word in pip.stderr for word in UNREACHABLE):
        unavailable(f"the package index is not reachable: {pip.stderr.strip().splitlines()[-1]}")
    assert pip.returncode == 0, pip.stdout + pip.stderr
    (into / "ready").touch()
    return into


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder with mso/ (the clone), dist/ (sdist and wheel) and venv/ (the wheel installed)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent                      # the same folder for every worker
    place = shared / "release-wheel"
    with open(shared / "release-wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (place / "ready").exists():
            return place
        shutil.rmtree(place, ignore_errors=True)    # an earlier module's try that failed
        place.mkdir()
        return build(place)


def wheel_version(built: Path) -> str:
    [wheel] = (built / "dist").glob("*.whl")
    return wheel.name.split("-")[1]


def env_of(built: Path) -> dict[str, str]:
    """This environment with the new venv first on PATH, and nothing pointing at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PATH": f"{built / 'venv/bin'}:{env.get('PATH', '')}"}


def test_the_wheel_holds_every_file_of_the_package_and_the_sdist_all_of_the_wheel(
        built: Path) -> None:
    tracked = run("git", "ls-files", "runner", cwd=built / "mso").stdout.split()
    [wheel] = (built / "dist").glob("*.whl")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert set(tracked) - in_wheel == set(), "tracked files of runner/ missing from the wheel"
    [sdist] = (built / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    package = {name for name in in_wheel if name.startswith("runner/")}
    assert package - in_sdist == set(), "files of the wheel missing from the sdist"
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", "PKG-INFO"} <= in_sdist


def test_the_installed_mso_is_the_wheels_and_says_its_version(built: Path) -> None:
    python = built / "venv/bin/python"
    where = run(python, "-c", "import runner; print(runner.__file__)", cwd=built).stdout
    assert where.startswith(str(built / "venv")), where
    direct = run(python, "-c", "import importlib.metadata as m; "
                 "print(m.distribution('mso').read_text('direct_url.json'))", cwd=built).stdout
    assert '"editable": true' not in direct, direct
    said = run(built / "venv/bin/mso", "--version", cwd=built).stdout.strip()
    assert said == f"mso {wheel_version(built)}"


def test_a_new_repository_runs_and_books_with_the_wheel(built: Path, tmp_path: Path) -> None:
    lab, env = tmp_path / "lab", env_of(built)
    lab.mkdir()
    run("mso", "init", cwd=lab, env=env)
    checked = run("mso", "validate", cwd=lab, env=env)
    assert "all valid" in checked.stderr, checked.stderr
    run("mso", "run", "diffusion-convergence", cwd=lab, env=env)
    [record] = (lab / "results" / "diffusion-convergence").glob("*/run.json")
    state = json.loads(record.read_text())
    assert state["state"] == "succeeded" and len(state["tasks"]) == 4
    assert state["mso_version"] == wheel_version(built)
    run("mso", "book", "build", cwd=lab, env=env)
    page = lab / "site" / "runs" / "diffusion-convergence" / state["run_id"] / "index.html"
    assert page.is_file(), sorted(p.name for p in (lab / "site").iterdir())
    assert state["run_id"] in (lab / "site" / "experiments" / "diffusion-convergence.html").read_text()
