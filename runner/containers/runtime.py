"""Container runtimes on the run side: how each pulls a pinned image into the cache, and how the
job wrapper runs a task's command in it. Pure builders of command lines (argv lists and shell
text): golden-tested for the runtimes that cannot run here (Apptainer, SingularityCE, Podman),
run for real for Charliecloud (tests/cluster/test_containers.py).

    Runtime        what every runtime answers: its tools, its cache entry, pull, exec
    Singularity    SingularityCE: a SIF file, `singularity exec --cleanenv`
    Apptainer      Singularity under its new name (its own tool and variable prefix)
    Charliecloud   a directory image, `ch-run --unset-env='*'`
    Podman         the image in podman's storage, `podman run --rm --pull=never`

Every runtime gives the command a clean environment plus the application's `environment`,
binds the task's work dir and the infrastructure's `volumes`, starts in the task's work dir,
passes GPUs when the task asks for them, and for a multi-task job is started by the site's
launcher (`srun <runtime> exec ...`: the hybrid MPI model). Registry credentials reach a pull
only as the shell variables MSO_REGISTRY_USER and MSO_REGISTRY_PASSWORD (read from stdin by
runner/containers/cache.py): never on a command line.
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from runner.errors import ContainerError

NONE = "none"
USER_VAR, PASSWORD_VAR = "MSO_REGISTRY_USER", "MSO_REGISTRY_PASSWORD"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GPU_VENDORS = ("nvidia", "amd")


@dataclass(frozen=True)
class Bind:
    """A host folder seen inside the container."""

    source: str
    target: str
    read_only: bool = False


def parse_bind(text: str) -> Bind:
    """`SRC`, `SRC:DST`, `SRC:ro`, `SRC:DST:ro` (or `:rw`) -> a Bind."""
    parts = text.split(":")
    mode = parts.pop() if len(parts) > 1 and parts[-1] in ("ro", "rw") else "rw"
    if len(parts) not in (1, 2) or not all(p.startswith("/") for p in parts):
        raise ContainerError(f"volume {text!r}: expected /SRC[:/DST][:ro|rw], absolute paths")
    return Bind(parts[0], parts[-1], mode == "ro")


@dataclass(frozen=True)
class Image:
    """An image as the jobs on one infrastructure use it."""

    runtime: str
    location: str                 # the cached SIF or directory image; podman: name@digest
    work_root: str                # the infrastructure's work root, where the cache is
    volumes: tuple[Bind, ...] = ()
    gpu_vendor: str = "nvidia"
    scheduler: str = "slurm"      # the infrastructure's kind: which MPI launcher starts it


@dataclass(frozen=True)
class Task:
    """What one task runs, where, with what."""

    argv: tuple[str, ...]
    work_dir: str
    environment: Mapping[str, str]
    gpus: int = 0
    ranks: int = 1                # MPI ranks: more than one starts the runtime under a launcher


class Runtime(ABC):
    """One container runtime: the tools it needs, its cache entries, pull and exec."""

    name: str
    tools: tuple[str, ...]        # commands that must exist where it pulls and runs
    suffix = ""                   # of a cache entry (`.sif` for a SIF file)

    def entry(self, digest: str) -> str:
        """The cache entry's file name for a digest: its hex, plus the suffix."""
        return digest.split(":", 1)[-1] + self.suffix

    @abstractmethod
    def pull(self, pinned: str, dest: str, scratch: str, auth: bool, sif: bool = False) -> str:
        """Shell text that makes `dest` hold the image `pinned` (name@digest), using `scratch`
        (a fresh folder, removed afterwards); `auth`: pass the registry credentials; `sif`:
        the image is a SIF stored as an OCI artifact (oras)."""

    @abstractmethod
    def exec(self, image: Image, task: Task) -> list[str]:
        """The argv that runs the task's command in the image."""

    def location(self, path: str, pinned: str) -> str:
        """What exec names the image by: the cache entry's path (podman: the pinned name)."""
        return path

    def mount_points(self, image: Image) -> tuple[str, ...]:
        """Folders that must exist inside the image for its binds (only Charliecloud's)."""
        return ()


def launcher(scheduler: str, ranks: int) -> list[str]:
    """What starts one container per MPI rank: srun under Slurm, mpiexec under PBS, mpirun
    elsewhere; nothing for a single rank."""
    if ranks <= 1:
        return []
    if scheduler == "slurm":
        return ["srun"]   # srun takes the ranks from the allocation
    if scheduler in ("pbs", "torque"):
        return ["mpiexec", "-n", str(ranks)]
    return ["mpirun", "-np", str(ranks)]


def _credentials(*names: str) -> str:
    """`NAME="$MSO_REGISTRY_USER" NAME2="$MSO_REGISTRY_PASSWORD" `: the child's environment only."""
    user, password = names
    return f'{user}="${USER_VAR}" {password}="${PASSWORD_VAR}" '


# --- Singularity and Apptainer -----------------------------------------------------------------

class Singularity(Runtime):
    """SingularityCE: a SIF pulled once, then `singularity exec --cleanenv`."""

    name, tools, suffix = "singularity", ("singularity",), ".sif"
    prefix = "SINGULARITY"        # of its variables: SINGULARITYENV_X sets X in the container

    def pull(self, pinned: str, dest: str, scratch: str, auth: bool, sif: bool = False) -> str:
        scheme = "oras" if sif else "docker"
        creds = _credentials(f"{self.prefix}_DOCKER_USERNAME",
                             f"{self.prefix}_DOCKER_PASSWORD") if auth else ""
        # the layer cache in scratch: removed with it, so pulls of one user never race on it
        cache = f"{self.prefix}_CACHEDIR={shlex.quote(scratch + '/cache')} "
        return creds + cache + shlex.join([self.name, "pull", dest, f"{scheme}://{pinned}"])

    def exec(self, image: Image, task: Task) -> list[str]:
        env = [f"{self.prefix}ENV_{k}={v}" for k, v in sorted(task.environment.items())]
        binds = [Bind(task.work_dir, task.work_dir), *image.volumes]
        gpus = ({"nvidia": ["--nv"], "amd": ["--rocm"]}[image.gpu_vendor] if task.gpus else [])
        return [*launcher(image.scheduler, task.ranks), *(["env", *env] if env else []),
                self.name, "exec", "--cleanenv", "--pwd", task.work_dir,
                *[a for b in binds for a in ("--bind", _apptainer_bind(b))], *gpus,
                image.location, *task.argv]


class Apptainer(Singularity):
    """Apptainer: Singularity's successor, with its own tool name and variable prefix."""

    name, tools = "apptainer", ("apptainer",)
    prefix = "APPTAINER"


def _apptainer_bind(b: Bind) -> str:
    return f"{b.source}:{b.target}" + (":ro" if b.read_only else "")


# --- Charliecloud --------------------------------------------------------------------------------

class Charliecloud(Runtime):
    """A directory image made by `ch-image pull` + `ch-convert`, run with `ch-run`."""

    name, tools = "charliecloud", ("ch-run", "ch-image", "ch-convert")

    def pull(self, pinned: str, dest: str, scratch: str, auth: bool, sif: bool = False) -> str:
        if sif:
            raise ContainerError(f"{pinned} is a SIF image (built by apptainer or singularity); "
                                 "Charliecloud runs OCI images: build it with ch-image or buildah")
        # a storage folder of this pull's own (ch-image makes it), removed with `scratch`;
        # --no-cache: no build-cache git repository, so no git identity is needed
        storage = f"CH_IMAGE_STORAGE={shlex.quote(scratch + '/storage')} "
        creds = _credentials("CH_IMAGE_USERNAME", "CH_IMAGE_PASSWORD") if auth else ""
        pull = ["ch-image", "--no-cache", "pull", *(["--auth"] if auth else []), pinned]
        return (f"{storage}{creds}{shlex.join(pull)} && "
                f"{storage}{shlex.join(['ch-convert', '-i', 'ch-image', '-o', 'dir', pinned, dest])}")

    def exec(self, image: Image, task: Task) -> list[str]:
        # --unset-env='*' first, then the image's own environment (/ch/environment, written by
        # ch-image from the image's ENV), then the application's; values single-quoted because
        # ch-run strips one pair of quotes around a value; --env-no-expand keeps `$` literal
        env = {"HOME": task.work_dir, **task.environment}
        sets = [f"--set-env={k}='{v}'" for k, v in sorted(env.items())]
        # ch-run binds onto folders that exist in the image: the cache made the work root one
        binds = [Bind(image.work_root, image.work_root), *image.volumes]
        return [*launcher(image.scheduler, task.ranks), "ch-run", "--env-no-expand",
                "--unset-env=*", f"--set-env=PATH={DEFAULT_PATH}", "--set-env", *sets,
                *[a for b in binds for a in ("-b", f"{b.source}:{b.target}")],
                "-c", task.work_dir, image.location, "--", *task.argv]

    def mount_points(self, image: Image) -> tuple[str, ...]:
        return (image.work_root, *(b.target for b in image.volumes))


# --- Podman ---------------------------------------------------------------------------------------

class Podman(Runtime):
    """Podman (and podman-hpc): the image pulled once into podman's storage; runs never pull."""

    name, tools, suffix = "podman", ("podman",), ".podman"

    def pull(self, pinned: str, dest: str, scratch: str, auth: bool, sif: bool = False) -> str:
        if sif:
            raise ContainerError(f"{pinned} is a SIF image; podman runs OCI images")
        authfile = []
        if auth:   # an auth file through a pipe (bash process substitution): never on disk
            host = shlex.quote(pinned.split("/", 1)[0])
            authfile = ["--authfile", f'<(printf \'{{"auths":{{"%s":{{"auth":"%s"}}}}}}\' {host} '
                        f'"$(printf \'%s:%s\' "${USER_VAR}" "${PASSWORD_VAR}" | base64 -w0)")']
        pull = " ".join(["podman", "pull", "--quiet", *authfile, shlex.quote(pinned)])
        return f"{pull} >/dev/null && touch {shlex.quote(dest)}"   # the entry marks it pulled

    def location(self, path: str, pinned: str) -> str:
        return pinned

    def exec(self, image: Image, task: Task) -> list[str]:
        binds = [Bind(task.work_dir, task.work_dir), *image.volumes]
        gpus = {"nvidia": ["--device=nvidia.com/gpu=all"],
                "amd": ["--device=/dev/kfd", "--device=/dev/dri"]}[image.gpu_vendor]
        ranks = launcher(image.scheduler, task.ranks)
        return [*ranks, "podman", "run", "--rm", "--pull=never", "--userns=keep-id",
                *(["--network=host", "--ipc=host"] if ranks else []),
                *[a for b in binds for a in ("-v", _apptainer_bind(b))], "-w", task.work_dir,
                *[a for k, v in sorted(task.environment.items()) for a in ("-e", f"{k}={v}")],
                *(gpus if task.gpus else []), image.location, *task.argv]


RUNTIMES: dict[str, Runtime] = {r.name: r for r in (Apptainer(), Singularity(), Charliecloud(),
                                                    Podman())}


def get(name: str) -> Runtime:
    """The runtime of that name (`container_runtime`); a ContainerError for `none` or another."""
    if name not in RUNTIMES:
        raise ContainerError(f"container_runtime {name!r} runs no image (one of "
                             f"{', '.join(RUNTIMES)})")
    return RUNTIMES[name]
