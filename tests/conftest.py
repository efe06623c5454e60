"""Shared fixtures: a copy of the example repository and the `mso` command run as a process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ("applications", "datasets", "infrastructures", "experiments")


def mso(*args: str, repo: Path, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """Run `python -m runner -C repo ARGS` and capture its output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **kw.pop("env", {})}
    return subprocess.run([sys.executable, "-m", "runner", "-C", str(repo), *args],
                          capture_output=True, text=True, timeout=timeout, env=env, **kw)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A fresh copy of the example repository (declarations only, no results)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for folder in EXAMPLE:
        shutil.copytree(ROOT / folder, repo / folder)
    return repo


def nothing_started(repo: Path) -> bool:
    """No run record and no work dir: at most the cache of dataset hashes that `validate --data`
    (run by plan and run) keeps in .mso/cache."""
    return not (repo / "results").exists() and {p.name for p in (repo / ".mso").glob("*")} <= {"cache"}


COUNTER_APP = """\
name: counter
version: "1"
description: Appends its label to a ledger (to count executions), sleeps, writes an output.
command: [python3, count.py, "{ledger}", "{label}", "{sleep}", "{code}"]
parameters:
  type: object
  properties:
    ledger: {type: string}
    label: {type: string}
    sleep: {type: number, minimum: 0, default: 0}
    code: {type: integer, default: 0}
outputs: [out.txt]
"""

COUNTER_PY = """\
import sys, time
ledger, label, sleep, code = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
with open(ledger, "a") as fh:
    fh.write(label + "\\n")
time.sleep(sleep)
open("out.txt", "w").write(label + "\\n")
print("counted", label)
sys.exit(code)
"""


def add_counter(repo: Path) -> Path:
    """Add `counter`, an application that records each execution, to a repository."""
    (repo / "applications" / "counter").mkdir()
    (repo / "applications" / "counter.yaml").write_text(COUNTER_APP)
    (repo / "applications" / "counter" / "count.py").write_text(COUNTER_PY)
    return repo


@pytest.fixture
def counter(example: Path) -> Path:
    """The example repository plus the `counter` application."""
    return add_counter(example)


def counter_experiment(repo: Path, name: str, labels: list[str], sleep: float = 0,
                       extra: str = "") -> Path:
    """Write experiments/<name>.yaml sweeping `labels`; returns the ledger path."""
    ledger = repo / f"{name}.ledger"
    (repo / "experiments" / f"{name}.yaml").write_text(
        f"name: {name}\napplication: counter@1\n"
        f"parameters: {{ledger: '{ledger}', sleep: {sleep}}}\n"
        f"matrix: {{label: [{', '.join(labels)}]}}\n{extra}")
    return ledger


CLUSTER_ENV = Path("/var/lib/mso-test/env")


def unavailable(reason: str) -> None:
    """Skip with the reason; under CI=true fail, since CI must run every integration test."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"integration test cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def require(available: bool, what: str, how: str) -> None:
    """Skip (or, under CI=true, fail) a test whose real service is missing."""
    if not available:
        unavailable(f"{what} is not available ({how})")


@pytest.fixture(scope="session")
def cluster_env() -> dict[str, str]:
    """Facts about the test cluster started by .ci/services/cluster-up."""
    require(CLUSTER_ENV.exists(), "the test cluster", "run .ci/services/cluster-up")
    env = dict(line.split("=", 1) for line in CLUSTER_ENV.read_text().splitlines() if "=" in line)
    proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    require(proc.returncode == 0, "slurmctld", f"sinfo failed: {proc.stderr.strip()}")
    return env


CLUSTER_INFRA = """\
name: {name}
kind: {kind}
host: {host}
port: {port}
user: {{env: MSO_TEST_USER}}
key: {{env: MSO_TEST_KEY}}
known_hosts: {{env: MSO_TEST_KNOWN_HOSTS}}
work_root: mso-work/{tag}
partition: debug
poll_interval: {{min: 0.5, max: 5}}
"""


@pytest.fixture
def on_cluster(example: Path, cluster_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
               request: pytest.FixtureRequest) -> Path:
    """The example repository with `cluster` (Slurm) and `login` (ssh) infrastructures that
    reach the test cluster over sshd as the unprivileged test user; secrets by env var only."""
    tag = f"{os.getpid()}-{request.node.name}"[:60].replace("[", "-").replace("]", "")
    for name, kind in (("cluster", "slurm"), ("login", "ssh")):
        (example / "infrastructures" / f"{name}.yaml").write_text(CLUSTER_INFRA.format(
            name=name, kind=kind, host=cluster_env["MSO_TEST_SSH_HOST"],
            port=cluster_env["MSO_TEST_SSH_PORT"], tag=tag))
    monkeypatch.setenv("MSO_TEST_USER", cluster_env["MSO_TEST_SSH_USER"])
    monkeypatch.setenv("MSO_TEST_KEY", cluster_env["MSO_TEST_SSH_KEY_FILE"])
    monkeypatch.setenv("MSO_TEST_KNOWN_HOSTS", cluster_env["MSO_TEST_KNOWN_HOSTS_FILE"])
    return example
