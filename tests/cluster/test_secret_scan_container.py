"""A task in an image cannot find the runner's secrets: while mso holds a canary token (GitLab's,
a dataset's credential, one listed in MSO_SECRET_VARS), a task run through ch-run (Charliecloud)
scans every process's environ and cmdline it can see and every file it can read ($HOME, /tmp, its
work dir), and finds it nowhere; on the test cluster (Slurm, over SSH, as the test user) and on
`local` (where the task is also in a PID namespace of its own).

The scan is tests/test_secrets.py's. Each run has two tasks: one looks for the canary, one for
a marker that is not secret, put where a leak would be: in the application's environment (so in
the task's environ and on the command line of the ch-run that started it, outside the container)
and in a file in /tmp, in base64. The marker task finding it in all three says the scan reads
processes outside the container and files, so the canary task finding nothing means something.
(From inside ch-run's user namespace the environ of a process outside it cannot be read, even
the same user's; its cmdline can.)"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
from pathlib import Path

import pytest

from tests.cluster.test_containers import cluster_shell, registry_env, work_root
from tests.conftest import mso
from tests.containers.conftest import CH_PATH, BaseImage, Registry
from tests.containers.conftest import base_image, registry  # noqa: F401 (fixtures used here)
from tests.test_secrets import DATASET, SCAN_APP, SCANNER, SECRET_VARS, canary_since, scan

pytestmark = pytest.mark.integration


def add_scan(repo: Path, image: str, infra: str, marker: str, canary: str, since: float,
             **environment: str) -> None:
    """The scanner (in `image`, the marker in its environment), the dataset whose credential is
    a secret, and an experiment on `infra` scanning for the canary and for the marker."""
    (repo / "applications" / "scanner").mkdir()
    (repo / "applications" / "scanner" / "scan.py").write_text(SCANNER)
    (repo / "applications" / "scanner.yaml").write_text(
        f"{SCAN_APP}container: {{image: '{image}'}}\n"
        f"environment: {{MSO_SCAN_MARKER: '{marker}'}}\n")
    (repo / "datasets" / "remote-data.yaml").write_text(DATASET)
    # "." besides $HOME and /tmp: the task's work dir (the work root would add the image, and
    # through the image's /tmp, which is the host's, all of /tmp again)
    (repo / "experiments" / "scan.yaml").write_text(
        f"name: scan\napplication: scanner@1\ninfrastructure: {infra}\n"
        f"matrix: {{canary_hex: ['{canary.encode().hex()}', '{marker.encode().hex()}']}}\n"
        f"parameters: {{repo: ., since: {since}}}\n")
    path = repo / "infrastructures" / f"{infra}.yaml"
    extra = f"environment: {json.dumps(environment)}\n" if environment else ""
    path.write_text(f"{path.read_text()}container_runtime: charliecloud\n{extra}")


def canary_env(canary: str) -> dict[str, str]:
    """mso's environment holds the canary as every kind of secret it knows."""
    return {"MSO_SECRET_VARS": "LAB_SECRET", **{v: canary for v in SECRET_VARS}}


def reports(repo: Path, proc) -> tuple[dict, dict]:
    """The scans of the canary task and of the marker task."""
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    [run] = json.loads(proc.stdout)["runs"]
    record = json.loads((repo / "results" / "scan" / run["run_id"] / "run.json").read_text())
    assert [i["runtime"] for i in record["images"]] == ["charliecloud"], record["images"]
    folder = repo / "results" / "scan" / run["run_id"]
    return scan(folder / "main-0000" / "found.txt"), scan(folder / "main-0001" / "found.txt")


def assert_scanned(canary: dict, marker: dict, tmp_marker: str) -> None:
    """The canary is nowhere; the marker is everywhere it was put, so the scan looked there:
    its own environ (the application's environment), the cmdline of the processes that started
    it outside the container (ch-run's --set-env), and a file in /tmp."""
    assert "found" not in canary, canary["found"]
    assert int(canary["files"][0]) > 0, canary
    found, me = marker.get("found", []), marker["self"][0]
    assert f"/proc/{me}/environ plain" in found, found
    others = [f for f in found if f.endswith("/cmdline plain") and f != f"/proc/{me}/cmdline plain"]
    assert others, found
    assert f"{tmp_marker} base64" in found, found


def hidden(marker: str) -> str:
    """The marker as a credential file holds it: `user:marker` in base64."""
    return base64.b64encode(f"user:{marker}".encode()).decode()


def test_a_task_in_an_image_on_the_cluster_cannot_find_the_runners_secrets(
        on_cluster: Path, base_image: BaseImage, registry: Registry) -> None:
    since = canary_since()
    canary, marker = (f"mso-{what}-{secrets.token_hex(12)}" for what in ("canary", "marker"))
    add_scan(on_cluster, base_image.reference, "cluster", marker, canary, since)
    tmp_marker = f"/tmp/mso-scan-marker-{os.getpid()}"
    cluster_shell(f"printf %s {hidden(marker)} > {tmp_marker}")
    try:
        proc = mso("run", "scan", "--json", repo=on_cluster, timeout=300,
                   env={**registry_env(registry), **canary_env(canary)})
        canary_scan, marker_scan = reports(on_cluster, proc)
    finally:
        cluster_shell(f"rm -rf {tmp_marker} ~/{work_root(on_cluster)}")
    # no PID namespace on the cluster: the task saw the host's processes, among them the test
    # user's sshd session and the login shell that mso drives
    assert int(canary_scan["pids"][0]) > 20, canary_scan
    assert_scanned(canary_scan, marker_scan, tmp_marker)


def test_a_task_in_an_image_on_local_cannot_find_the_runners_secrets(
        example: Path, base_image: BaseImage, registry: Registry, tmp_path: Path,
        outside_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    since = canary_since()
    canary, marker = (f"mso-{what}-{secrets.token_hex(12)}" for what in ("canary", "marker"))
    (example / "infrastructures" / "local.yaml").write_text(
        f"name: local\nkind: local\nwork_root: {outside_tmp}\n")
    add_scan(example, base_image.reference, "local", marker, canary, since)
    tmp_marker = tmp_path / "marker.txt"
    tmp_marker.write_text(hidden(marker))
    # as a CI job may start it: without USER (ch-image refuses to work without it), and with the
    # runner's interpreter first on PATH (ch-image is a script for the system's python3)
    monkeypatch.delenv("USER", raising=False)
    proc = mso("run", "scan", "--json", repo=example, timeout=300,
               env={**registry_env(registry), **canary_env(canary),
                    "PATH": os.path.dirname(sys.executable) + os.pathsep + CH_PATH})
    canary_scan, marker_scan = reports(example, proc)
    # a PID namespace of its own: the runner and the shell that started it are not there
    assert int(canary_scan["pids"][0]) <= 8, canary_scan
    assert_scanned(canary_scan, marker_scan, str(tmp_marker))
