"""The run side's command lines: pull and exec per runtime, the cache's fetch command and a job
script with an image, against golden files (Apptainer, SingularityCE and Podman cannot run here:
tests/fixtures/containers/golden/README.md says how the lines were checked). Charliecloud's lines
are golden too, and RUN for real by tests/cluster/test_containers.py."""

from __future__ import annotations

import shlex
from pathlib import Path, PurePosixPath

import pytest

from runner.containers import cache, runtime
from runner.containers.reference import parse
from runner.containers.runtime import Bind, Image, Task
from runner.declarations.models import Infrastructure, Resources, freeze
from runner.errors import ContainerError
from runner.plan.resolve import TaskPlan
from runner.schedulers import script, slurm
from runner.schedulers.base import Job
from runner.transports.base import Offline
from tests.golden import check_golden

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "containers" / "golden"
DIGEST = "sha256:" + "ab" * 32
REF = parse("registry.example.org/lab/heat:1.2.0-0123456789ab").with_digest(DIGEST)
ROOT = "/scratch/mso"
WORK = f"{ROOT}/20261130T120000Z-0a5ddbcc-1234abcd/main-0000"
PART = f"{ROOT}/.images/{'ab' * 32}.part"
VOLUMES = (Bind("/data", "/data", read_only=True), Bind("/opt/site", "/site"))
ENV = freeze({"OMP_NUM_THREADS": "1", "GREETING": "it's $HOME, a b"})
ARGV = ("python3", "heat.py", "--nu", "0.1", "--out", "out dir")


def image(name: str, gpu_vendor: str = "nvidia", scheduler: str = "slurm") -> Image:
    rt = runtime.get(name)
    where = rt.location(cache.entry_path(ROOT, rt, DIGEST), REF.pinned)
    return Image(name, where, ROOT, VOLUMES, gpu_vendor, scheduler)


def lines(name: str) -> str:
    """Every line a runtime gives: pulls, then execs (plain, GPUs, MPI), with a heading each."""
    rt = runtime.get(name)
    out = [("pull, anonymous", rt.pull(REF.pinned, f"{PART}/image", PART, auth=False)),
           ("pull, with the registry's credentials (read from stdin into shell variables)",
            rt.pull(REF.pinned, f"{PART}/image", PART, auth=True))]
    if name in ("apptainer", "singularity"):
        out.append(("pull, a SIF kept in the registry as an OCI artifact (oras)",
                    rt.pull(REF.pinned, f"{PART}/image", PART, auth=True, sif=True)))
    task = Task(ARGV, WORK, ENV)
    runs = [("exec: binds (work dir, volumes), clean environment plus the application's, "
             "working directory", rt.exec(image(name), task)),
            ("exec, 1 GPU, nvidia", rt.exec(image(name), Task(ARGV, WORK, ENV, gpus=1))),
            ("exec, 1 GPU, amd", rt.exec(image(name, "amd"), Task(ARGV, WORK, ENV, gpus=1))),
            ("exec, 4 MPI ranks under Slurm (the hybrid model)",
             rt.exec(image(name), Task(ARGV, WORK, ENV, ranks=4))),
            ("exec, 4 MPI ranks under PBS", rt.exec(image(name, scheduler="pbs"),
                                                    Task(ARGV, WORK, ENV, ranks=4)))]
    out += [(head, shlex.join(argv)) for head, argv in runs]
    return "".join(f"# {head}\n{text}\n" for head, text in out)


@pytest.mark.parametrize("name", ["apptainer", "singularity", "podman", "charliecloud"])
def test_runtime_lines(name: str) -> None:
    check_golden(GOLDEN / f"run-{name}.txt", lines(name))


def test_the_fetch_command() -> None:
    setup = cache.HostSetup(("charliecloud/0.31",), {"REQUESTS_CA_BUNDLE": "/etc/site ca.pem"})
    text = cache.fetch_command(ROOT, runtime.get("charliecloud"), REF, auth=True, setup=setup,
                               mount_points=(ROOT, "/site"))
    check_golden(GOLDEN / "fetch-charliecloud.sh", text + "\n")


def test_a_slurm_job_script_runs_the_command_in_the_image() -> None:
    """Modules, the infrastructure's environment, timing, exit code and peak memory stay on the
    host; the application's environment goes into the container; 4 ranks: srun apptainer exec."""
    infra = Infrastructure(name="cluster", kind="slurm", host="login", work_root=ROOT,
                           modules=("apptainer/1.3",), container_runtime="apptainer",
                           environment=freeze({"APPTAINER_TMPDIR": "/tmp"}), path="c.yaml")
    task = TaskPlan(id="main-0000", step="main", index=0, application="heat@1.2.0",
                    infrastructure="cluster", parameters=freeze({}), argv=ARGV, environment=ENV,
                    resources=Resources(tasks=4, gpus=1, walltime="00:10:00"))
    job = Job(task, "mso.20261130T120000Z-0a5ddbcc-1234abcd.main-0000", PurePosixPath(WORK),
              image("apptainer"))
    text = slurm.SlurmScheduler(infra, Offline("login")).render(job)
    check_golden(GOLDEN / "task-apptainer.sbatch", text.replace(script.__version__, "VERSION"))
    assert "export OMP_NUM_THREADS" not in text and "APPTAINERENV_OMP_NUM_THREADS=1" in text


def test_no_credential_is_on_any_command_line() -> None:
    for name, rt in runtime.RUNTIMES.items():
        text = rt.pull(REF.pinned, "/d", "/s", auth=True)
        assert f"${runtime.PASSWORD_VAR}" in text, name
    fetch = cache.fetch_command(ROOT, runtime.get("apptainer"), REF, auth=True)
    assert f"IFS= read -r {runtime.PASSWORD_VAR}" in fetch


def test_hostile_values_stay_single_arguments() -> None:
    evil = "x'; rm -rf / #$(id)\n`id`"
    task = Task((evil, "--out", evil), f"{ROOT}/r/{evil}", {"EVIL": evil})
    for name in runtime.RUNTIMES:
        argv = runtime.get(name).exec(image(name), task)
        assert shlex.split(shlex.join(argv)) == argv


def test_binds_and_runtimes_refused_with_one_line() -> None:
    assert runtime.parse_bind("/a") == Bind("/a", "/a")
    assert runtime.parse_bind("/a:/b:ro") == Bind("/a", "/b", True)
    assert runtime.parse_bind("/a:ro") == Bind("/a", "/a", True)
    with pytest.raises(ContainerError, match="absolute"):
        runtime.parse_bind("a:/b")
    with pytest.raises(ContainerError, match="runs no image"):
        runtime.get("none")
    with pytest.raises(ContainerError, match="SIF image"):
        runtime.get("charliecloud").pull(REF.pinned, "/d", "/s", auth=False, sif=True)
