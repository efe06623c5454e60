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

# Tests that share a stateful test service run one at a time, on one worker, under pytest-xdist
# (scripts/test runs `-n 2 --dist loadgroup`): some restart sshd or slurmctld or take the node
# down, some count the test user's jobs, and ch-image refuses a storage that another ch-image has
# locked. Everything else (local runs, the book, declarations, ...) is spread over the workers.
# xdist's own xdist_group marker cannot be used: it renames the test (item._nodeid), which
# pytest 9.2 no longer reads, so the group is chosen here from the test's file.
SERVICE_PATHS = ("tests/cluster/", "tests/transports/", "tests/pipeline/", "tests/containers/",
                 "tests/data/", "tests/schedulers/test_slurm_cluster.py", "tests/cloud/")
SERVICE_FIXTURES = {"cluster_env", "cluster", "site", "data_env", "registry", "base_image",
                    "dir_image", "builder_storage", "openstack"}


def uses_services(nodeid: str) -> bool:
    """Whether a test is one of those that share the test services (by its file)."""
    return nodeid.startswith(SERVICE_PATHS)


@pytest.fixture(autouse=True)
def _services_apart(request: pytest.FixtureRequest) -> None:
    """Under xdist, a test that needs a shared service but sits outside SERVICE_PATHS would run
    beside the tests that restart that service: it fails, saying where to list it."""
    shared = service_fixtures(request.node)
    if shared and os.environ.get("PYTEST_XDIST_WORKER") and not uses_services(request.node.nodeid):
        pytest.fail(f"{request.node.nodeid} uses {', '.join(sorted(shared))}: add its file to "
                    "SERVICE_PATHS in tests/conftest.py", pytrace=False)


@pytest.hookimpl(optionalhook=True)   # without pytest-xdist the hook is not known
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN201 (xdist's type)
    """--dist loadgroup: the tests of SERVICE_PATHS as one group, on one worker, in order; the
    book's tests as another, so that one worker builds their session's book (tests/book/conftest.py)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ServicesApart(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if uses_services(nodeid):
                return "services"
            return "book" if nodeid.startswith("tests/book/") else super()._split_scope(nodeid)

    return ServicesApart(config, log)


def service_fixtures(item: pytest.Item) -> set[str]:
    """The shared-service fixtures a test asks for, directly or through others (a parametrized
    argument of the same name, such as test_reference.py's `registry`, is not one)."""
    params = set(getattr(getattr(item, "callspec", None), "params", {}))
    return (SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))) - params


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for a shared service is an integration test, marked or not: the
    no-cluster scope (`-m "not integration"`, scripts/test) leaves it out."""
    for item in items:
        if service_fixtures(item) and not item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.integration)


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
