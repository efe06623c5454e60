"""The example repository's container experiment, for real: a copy of the repository whose heat
image is built FROM the test base image and pushed by `mso build --push`, and whose
`slurm-cluster` infrastructure is pointed at the test cluster through the variables it names
(HPC_USER, HPC_SSH_KEY, HPC_KNOWN_HOSTS) and the host, port and work root a fork edits. Then
`mso run heat-sweep-cluster`: the same sweep as heat-sweep, on Slurm, in the image (ch-run)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from tests.cluster.test_containers import cluster_shell, registry_env, work_root
from tests.conftest import ROOT, mso, nothing_started
from tests.containers.conftest import BaseImage, Registry
from tests.containers.conftest import base_image, registry  # noqa: F401 (fixtures used here)

EXPERIMENT = "heat-sweep-cluster"
INFRA = "slurm-cluster"
NO_CREDENTIALS = {"HPC_USER": "", "HPC_SSH_KEY": "", "HPC_KNOWN_HOSTS": ""}


def test_it_is_the_heat_sweep_on_another_infrastructure() -> None:
    local, cluster = (yaml.safe_load((ROOT / "experiments" / f"{n}.yaml").read_text())
                      for n in ("heat-sweep", EXPERIMENT))
    differ = {"name", "description", "infrastructure", "tags"}
    assert {k: v for k, v in local.items() if k not in differ} == \
           {k: v for k, v in cluster.items() if k not in differ}
    assert cluster["infrastructure"] == INFRA


def test_without_its_credentials_the_example_is_one_line_or_a_dry_run(example: Path) -> None:
    """As in a fresh fork: asked for, it says which variables to set; in a pipeline it is
    the dry run (the job scripts, in the image); nothing is started either way."""
    refused = mso("run", EXPERIMENT, repo=example, env=NO_CREDENTIALS)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert f"{EXPERIMENT} needs HPC_KNOWN_HOSTS, HPC_SSH_KEY, HPC_USER: set these " \
           "environment variables" in refused.stderr
    dry = mso("run", EXPERIMENT, "--without-credentials", "dry-run", repo=example,
              env=NO_CREDENTIALS)
    assert dry.returncode == 0, dry.stderr
    assert f"{EXPERIMENT}: dry run only, HPC_KNOWN_HOSTS, HPC_SSH_KEY, HPC_USER not set" \
        in dry.stderr
    scripts = dry.stdout.split("\n## ")[1:]
    assert len(scripts) == 6 and all("#SBATCH --partition=debug" in s and " ch-run " in s
                                     for s in scripts), dry.stdout
    assert nothing_started(example)


def test_a_bare_run_shows_it_as_a_dry_run_and_a_resume_never_asks(example: Path) -> None:
    """Not named, it does not stop the others: a bare `mso run` shows its dry run with a line
    naming the variables; `--resume-only` needs credentials only for an unfinished run."""
    (example / "experiments" / "heat-sweep.yaml").unlink()   # the rest of the bare run
    bare = mso("run", repo=example, env=NO_CREDENTIALS)
    assert bare.returncode == 0, bare.stderr
    assert f"{EXPERIMENT}: dry run only, HPC_KNOWN_HOSTS, HPC_SSH_KEY, HPC_USER not set" \
        in bare.stderr
    assert bare.stdout.count("\n## main-") == 6 and " ch-run " in bare.stdout
    resume = mso("run", "--resume-only", repo=example, env=NO_CREDENTIALS)
    assert resume.returncode == 0 and "dry run" not in resume.stderr + resume.stdout, resume.stderr
    assert nothing_started(example)


def edit(path: Path, old: str, new: str) -> None:
    """Replace `old`, which must be there, by `new` (what a fork edits by hand)."""
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new))


@pytest.fixture
def fork(example: Path, base_image: BaseImage, cluster_env: dict[str, str],
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example repository as a fork on this site sets it up: BASE is the test base image
    (python3-numpy, nothing downloaded), the cluster's address and a work root of the test
    user's, the credentials in the variables the infrastructure names."""
    edit(example / "applications" / "heat.yaml", '{BASE: "python:3.12-slim"}',
         f'{{BASE: "{base_image.reference}"}}')
    home = cluster_shell("cd && pwd").stdout.strip()
    root = f"{home}/mso-work/example-{os.getpid()}"
    infra = example / "infrastructures" / f"{INFRA}.yaml"
    edit(infra, "host: login.cluster.invalid", f"host: {cluster_env['MSO_TEST_SSH_HOST']}")
    edit(infra, "port: 22", f"port: {cluster_env['MSO_TEST_SSH_PORT']}")
    edit(infra, "work_root: /scratch/mso", f"work_root: {root}")
    monkeypatch.setenv("HPC_USER", cluster_env["MSO_TEST_SSH_USER"])
    monkeypatch.setenv("HPC_SSH_KEY", cluster_env["MSO_TEST_SSH_KEY_FILE"])
    monkeypatch.setenv("HPC_KNOWN_HOSTS", cluster_env["MSO_TEST_KNOWN_HOSTS_FILE"])
    yield example
    cluster_shell(f"rm -rf {root}")   # the run's folders and its image (~230 MB)


@pytest.mark.integration
def test_the_example_sweep_runs_in_the_heat_image_on_the_cluster(fork: Path,
                                                                 registry: Registry) -> None:
    env = registry_env(registry)
    built = mso("build", "--push", "--json", "heat", repo=fork, env=env, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    [image] = json.loads(built.stdout)["images"]
    assert image["app"] == "heat" and image["state"] in ("pushed", "up to date"), image
    assert image["digest"], image

    proc = mso("run", EXPERIMENT, "--json", repo=fork, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    [summary] = json.loads(proc.stdout)["runs"]
    assert (summary["state"], summary["image_pulls"]) == ("succeeded", 1)
    results = fork / "results" / EXPERIMENT / summary["run_id"]
    record = json.loads((results / "run.json").read_text())
    assert [(i["digest"], i["pulled"], i["runtime"], i["infrastructure"])
            for i in record["images"]] == [(image["digest"], True, "charliecloud", INFRA)]
    hexdigest = image["digest"].split(":")[1]
    assert record["images"][0]["path"] == f"{work_root(fork, INFRA)}/.images/{hexdigest}"
    cached = cluster_shell(f"ls -A {work_root(fork, INFRA)}/.images").stdout.split()
    assert cached == [hexdigest, f"{hexdigest}.lock"], "one image, fetched once for six tasks"
    assert len(record["tasks"]) == 6 and {t["state"] for t in record["tasks"]} == {"succeeded"}
    for task in record["tasks"]:
        # the host has no `python` and its python3 no numpy: a summary says it ran in the image
        out = json.loads((results / task["id"] / "out" / "summary.json").read_text())
        assert (out["nu"], out["n"], out["t_end"]) == (task["parameters"]["nu"],
                                                       task["parameters"]["n"], 0.1), out
        assert out["steps"] > 0 and 0 < out["heat_ratio"] < 1 and out["max"] > 0, out
