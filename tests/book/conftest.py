"""A repository with real runs to build books from: the example sweep plus a hostile experiment.

`noisy` is a small application whose log, stderr and outputs carry HTML and Markdown that must
stay inert in the book; its experiment has a hostile description, binds a private dataset whose
location must appear nowhere, and sweeps an exit code so one task fails.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.book.browser import chromium  # noqa: F401 - the fixture, for every book test
from tests.conftest import EXAMPLE, ROOT, mso

HOSTILE = "<script>alert(1)</script>|x"
PRIVATE_LOCATION = "datasets/data/secret-field-7f3a9c.json"
PRIVATE_DESCRIPTION = "Field measured at the undisclosed site Q7"
SECRET_VALUE = "s3cr3t-value-never-shown"

NOISY_APP = """\
name: noisy
version: "0.1"
description: Writes a log with warnings and errors, hostile text and outputs; exits with {code}.
command: [python, noisy.py, "{code}", "{inputs.data}"]
parameters:
  type: object
  properties:
    code: {type: integer, minimum: 0, maximum: 9, default: 0, description: "exit | code <b>"}
inputs:
  data: {description: any file}
outputs: ["out/*"]
logs:
  - path: noisy.log
    filters:
      - {pattern: "^step", severity: INFO, progress: "+1"}
      - {pattern: "^warn", severity: WARNING}
      - {pattern: "^error", severity: ERROR}
expected_steps: 2
"""

NOISY_PY = """\
import os, sys
code = int(sys.argv[1])
open(sys.argv[2]).read()
os.makedirs("out", exist_ok=True)
with open("noisy.log", "w") as log:
    log.write("step 1\\nstep 2\\n")
    log.write("warn disk <b>almost</b> full | [click](javascript:alert(5)) {: onclick=alert(6)}\\n")
    if code:
        log.write("error <img src=x onerror=alert(2)>\\n")
if not code:
    open("out/evil.html", "w").write("<script>alert(3)</script>")
    open("out/table.csv", "w").write("a,b\\n1,2\\n")
print("noisy says <script>alert(4)</script>")
print("stderr line <i>one</i>", file=sys.stderr)
sys.exit(code)
"""

CLUSTER = """\
name: cluster
kind: slurm
description: A cluster reached over SSH.
host: login.cluster.example.org
user: {env: HPC_USER}
key: {env: HPC_SSH_KEY}
known_hosts: {env: HPC_KNOWN_HOSTS}
work_root: /scratch/mso
partition: thin
modules: [apptainer]
container_runtime: apptainer
environment: {SITE_TOKEN: "%s"}
""" % SECRET_VALUE


def write_fixture_repo(repo: Path) -> None:
    """The example declarations, the book's own pages, and the hostile additions."""
    for folder in EXAMPLE:
        shutil.copytree(ROOT / folder, repo / folder)
    shutil.copytree(ROOT / "book", repo / "book")
    shutil.copy(ROOT / "mkdocs.yml", repo / "mkdocs.yml")
    (repo / "applications" / "noisy").mkdir()
    (repo / "applications" / "noisy.yaml").write_text(NOISY_APP)
    (repo / "applications" / "noisy" / "noisy.py").write_text(NOISY_PY)
    data = b'{"secret": true}\n'
    (repo / PRIVATE_LOCATION).write_bytes(data)
    (repo / "datasets" / "secret-field.yaml").write_text(
        f"name: secret-field\ndescription: {PRIVATE_DESCRIPTION}\nlocation: {PRIVATE_LOCATION}\n"
        f"sha256: {hashlib.sha256(data).hexdigest()}\nsize: {len(data)}\nvisibility: private\n")
    (repo / "infrastructures" / "cluster.yaml").write_text(CLUSTER)
    (repo / "experiments" / "noisy.yaml").write_text(
        f"name: noisy\ndescription: '{HOSTILE}'\napplication: noisy@0.1\n"
        "matrix: {code: [0, 3]}\ninputs: {data: secret-field}\n")


@pytest.fixture(scope="session")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture repository after real runs (read-only: copy it to change anything)."""
    repo = tmp_path_factory.mktemp("book") / "repo"
    repo.mkdir()
    write_fixture_repo(repo)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "declarations"], check=True)
    first = mso("run", "heat-sweep", repo=repo)
    assert first.returncode == 0, first.stderr
    second = mso("run", "noisy", repo=repo)
    assert second.returncode == 2, second.stderr   # one task fails on purpose
    return repo


@pytest.fixture(scope="session")
def built(ran: Path) -> Path:
    """The fixture repository with its book built (strictly) into site/."""
    done = mso("book", "build", "--strict", repo=ran, env={"HPC_USER": SECRET_VALUE})
    assert done.returncode == 0, done.stderr
    return ran


def copy_repo(src: Path, dest: Path) -> Path:
    """A writable copy of a repository without its built book."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("site", ".mso", ".git"))
    return dest
