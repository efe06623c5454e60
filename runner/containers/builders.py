"""Builders: what builds an image here (ch-image, apptainer, singularity, buildah), each a pair of
pure command builders (argv lists, tested against golden files) and the code that runs them.

Secrets never enter an argv (a process's command line is readable by every user): ch-image
reads CH_IMAGE_USERNAME/CH_IMAGE_PASSWORD from its own environment, buildah a login made with
--password-stdin into an auth file in a private folder that is removed after the push, and a SIF
goes to the registry through oras in this process.
"""

from __future__ import annotations

import getpass
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from runner.containers import process, recipe
from runner.containers.reference import Reference
from runner.declarations.models import EMPTY
from runner.errors import ContainerError

CH_IMAGE = "/usr/bin/ch-image"
SYSTEM_PYTHON = "/usr/bin/python3"   # ch-image needs Debian's python3-lark, not a virtualenv's
NAMES = ("ch-image", "apptainer", "singularity", "buildah")
FOR_DOCKERFILE = ("ch-image", "apptainer", "singularity", "buildah")   # in order of preference
FOR_DEFINITION = ("apptainer", "singularity")
INSTALL = {"ch-image": "apt-get install charliecloud", "buildah": "apt-get install buildah",
           "apptainer": "see apptainer.org (not packaged by Debian 12)",
           "singularity": "see sylabs.io (not packaged by Debian 12)"}


@dataclass(frozen=True)
class Job:
    """One image to build: the recipe (a Dockerfile or a definition), its context and args."""

    app: str
    recipe: Path
    definition: bool                      # an Apptainer/Singularity definition, not a Dockerfile
    context: Path
    target: Reference                     # where it goes (its tag is the content tag)
    args: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    workdir: Path = Path(".mso/build")    # where a SIF or a converted recipe is written
    pull_auth: bool = False               # the base image needs the registry's credentials

    @property
    def sif(self) -> Path:
        return self.workdir / f"{self.app}-{self.target.tag}.sif"


# --- command builders (pure) -------------------------------------------------------------------

def _build_args(args: Mapping[str, str]) -> list[str]:
    return [a for k, v in sorted(args.items()) for a in ("--build-arg", f"{k}={v}")]


def chimage_build(job: Job) -> list[str]:
    """`ch-image build`, run by the system Python; --auth when the base is private."""
    auth = ["--auth"] if job.pull_auth else []
    return [SYSTEM_PYTHON, CH_IMAGE, "build", *auth, "-t", str(job.target), "-f", str(job.recipe),
            *_build_args(job.args), str(job.context)]


def chimage_push(job: Job) -> list[str]:
    return [SYSTEM_PYTHON, CH_IMAGE, "push", str(job.target), str(job.target)]


def apptainer_build(tool: str, job: Job, definition: Path) -> list[str]:
    """`apptainer build --fakeroot OUT.sif DEF` (also singularity's); a Dockerfile is first
    converted to `definition` with spython, its ARGs already filled in."""
    args = _build_args(job.args) if job.definition else []
    return [tool, "build", "--fakeroot", "--force", *args, str(job.sif), str(definition)]


def buildah_build(job: Job) -> list[str]:
    """`buildah bud`; the storage driver and isolation come from buildah's own configuration
    (STORAGE_DRIVER, BUILDAH_ISOLATION), which is the site's to choose."""
    return ["buildah", "bud", "--layers", "-t", str(job.target), "-f", str(job.recipe),
            *_build_args(job.args), str(job.context)]


def buildah_login(host: str, user: str) -> list[str]:
    return ["buildah", "login", "--username", user, "--password-stdin", host]


def buildah_push(job: Job) -> list[str]:
    return ["buildah", "push", str(job.target), f"docker://{job.target}"]


# --- choosing ------------------------------------------------------------------------------

def available(which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """The builders installed here (ch-image also needs the system Python)."""
    found = []
    for name in NAMES:
        if name == "ch-image":
            if Path(CH_IMAGE).is_file() and Path(SYSTEM_PYTHON).is_file():
                found.append(name)
        elif which(name):
            found.append(name)
    return found


def choose(definition: bool, environ: Mapping[str, str] | None = None,
           installed: list[str] | None = None) -> str:
    """The builder for a recipe: MSO_BUILDER if set, else the first installed that can."""
    env = os.environ if environ is None else environ
    installed = available() if installed is None else installed
    able = FOR_DEFINITION if definition else FOR_DOCKERFILE
    kind = "an Apptainer definition" if definition else "a Dockerfile"
    wanted = env.get("MSO_BUILDER", "").strip()
    if wanted:
        if wanted not in NAMES:
            raise ContainerError(f"MSO_BUILDER={wanted!r} is not a builder: use one of "
                                 f"{', '.join(NAMES)}")
        if wanted not in installed:
            raise ContainerError(f"MSO_BUILDER={wanted} but {wanted} is not installed here "
                                 f"({INSTALL[wanted]})")
        if wanted not in able:
            raise ContainerError(f"{wanted} cannot build {kind}: convert it with "
                                 "`mso recipe convert FILE --to docker`, or use apptainer")
        return wanted
    for name in able:
        if name in installed:
            return name
    raise ContainerError(f"no builder for {kind} is installed here: install "
                         + " or ".join(f"{n} ({INSTALL[n]})" for n in able))


# --- running -------------------------------------------------------------------------------

def chimage_env(environ: Mapping[str, str], creds: tuple[str, str] | None) -> dict[str, str]:
    """ch-image's environment: $USER and its storage set, credentials only when given."""
    env = {k: v for k, v in environ.items() if not k.startswith("CH_IMAGE_")}
    user = environ.get("USER") or getpass.getuser()
    env["USER"] = user
    env["CH_IMAGE_STORAGE"] = environ.get("CH_IMAGE_STORAGE") or f"/var/tmp/{user}.ch"
    if creds:
        env["CH_IMAGE_USERNAME"], env["CH_IMAGE_PASSWORD"] = creds
    return env


def build(name: str, job: Job, creds: tuple[str, str] | None, say: Callable[[str], None],
          environ: Mapping[str, str] | None = None) -> None:
    """Build `job` with the builder `name`; a ContainerError with its last lines if it fails."""
    env = dict(os.environ if environ is None else environ)
    if name == "ch-image":
        process.run(chimage_build(_chimage_recipe(job)),
                    chimage_env(env, creds if job.pull_auth else None),
                    f"ch-image build of {job.app}", say, hide=_hidden(creds))
    elif name == "buildah":
        process.run(buildah_build(job), env, f"buildah build of {job.app}", say)
    else:
        job.workdir.mkdir(parents=True, exist_ok=True)
        definition = job.recipe
        if not job.definition:
            from runner.containers import convert
            definition = job.workdir / f"{job.app}.def"
            convert.write(job.recipe, definition, "singularity", force=True, args=dict(job.args))
        if job.pull_auth and creds:   # apptainer and singularity read these for docker:// bases
            for prefix in ("APPTAINER", "SINGULARITY"):
                env[f"{prefix}_DOCKER_USERNAME"], env[f"{prefix}_DOCKER_PASSWORD"] = creds
        # %files sources are relative to where the build runs: the context
        process.run(apptainer_build(name, job, definition), env, f"{name} build of {job.app}",
                    say, hide=_hidden(creds), cwd=str(job.context))


def _chimage_recipe(job: Job) -> Job:
    """The job with its Dockerfile's FROM lines resolved (see recipe.resolve_from)."""
    text, args = recipe.resolve_from(job.recipe.read_text(), dict(job.args))
    job.workdir.mkdir(parents=True, exist_ok=True)
    derived = job.workdir / f"{job.app}.Dockerfile"
    derived.write_text(text)
    return replace(job, recipe=derived, args=args)


def push(name: str, job: Job, creds: tuple[str, str] | None, say: Callable[[str], None],
         environ: Mapping[str, str] | None = None) -> None:
    """Push what `build` made to `job.target`; transient failures raise process.Transient."""
    env = dict(os.environ if environ is None else environ)
    if name == "ch-image":
        process.run(chimage_push(job), chimage_env(env, creds), f"ch-image push of {job.app}", say,
                    hide=_hidden(creds))
    elif name == "buildah":
        _buildah_push(job, creds, env, say)
    else:
        from runner.containers import artifacts
        artifacts.push_file(job.sif, job.target, creds)


def _buildah_push(job: Job, creds: tuple[str, str] | None, env: dict[str, str],
                  say: Callable[[str], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="mso-auth-") as private:   # mode 0700, removed after
        env["REGISTRY_AUTH_FILE"] = os.path.join(private, "auth.json")
        if creds:
            process.run(buildah_login(job.target.registry, creds[0]), env, "buildah login",
                        say, stdin=creds[1], hide=_hidden(creds))
        process.run(buildah_push(job), env, f"buildah push of {job.app}", say, hide=_hidden(creds))


def _hidden(creds: tuple[str, str] | None) -> list[str]:
    """The password, masked in any output line a builder might echo it in."""
    return [creds[1]] if creds else []
