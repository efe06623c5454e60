"""Build the mso job image (job-image/Dockerfile) with mso's own builder; run by scripts/build-job-image.

The build context is made here: the Dockerfile, mso's wheel in mso/ and the wheels of its
dependencies in wheels/ (downloaded for Debian 12's Python, since the image installs offline).
The builder is runner.containers.builders' (`mso build`'s): MSO_BUILDER chooses, else the first
installed of ch-image, apptainer, singularity, buildah. Registry credentials come only from
CI_REGISTRY_USER and CI_REGISTRY_PASSWORD. ch-image 0.31 ignores LABEL, USER and WORKDIR and
pushes a config without them: after its push, the pushed image's config is completed through the
registry API (a new config blob and manifest under the same tag), as buildah would have written it.
"""

from __future__ import annotations

import argparse
import datetime
import email.parser
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from runner.containers import builders, process
from runner.containers.access import GITLAB_PASSWORD, GITLAB_USER, Access
from runner.containers.reference import parse
from runner.errors import MsoError

from job_image_registry import Pushed, digest_of   # (scripts/ is sys.path[0])

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "job-image" / "Dockerfile"
DEBIAN_PYTHON = "3.11.2"   # Debian 12's python3: the wheels must suit it, not this interpreter
DIGEST_FILE = "job-image.digest"
ATTEMPTS = 3
STEADY = 315532800   # 1980-01-01, the times of every file in the build context


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:   # one line and exit 1, as every mso error
        raise MsoError(f"{message} (usage: scripts/build-job-image --wheel-dir DIR --tag REF "
                       "[--base REF] [--push])")


def arguments(argv: list[str]) -> argparse.Namespace:
    p = Parser(prog="scripts/build-job-image", description=__doc__.splitlines()[0])
    p.add_argument("--wheel-dir", required=True, type=Path, help="holds mso's wheel (python -m build)")
    p.add_argument("--tag", required=True, help="the image reference to build, e.g. $CI_REGISTRY_IMAGE/job:1.0.0")
    p.add_argument("--base", default="debian:12", help="the Debian 12 image to start FROM (default debian:12)")
    p.add_argument("--push", action="store_true", help=f"push it and write its digest to {DIGEST_FILE}")
    p.add_argument("--digest-file", type=Path, default=Path(DIGEST_FILE), help="where --push writes the digest")
    return p.parse_args(argv)


# --- what goes in ------------------------------------------------------------------------------

def the_wheel(folder: Path) -> Path:
    """The one mso wheel in `folder`."""
    found = sorted(folder.glob("mso-*.whl")) if folder.is_dir() else []
    if len(found) != 1:
        what = "is not a folder" if not folder.is_dir() else f"holds {len(found)} mso-*.whl files"
        raise MsoError(f"--wheel-dir {folder} {what}: give the folder where `python -m build --wheel` "
                       "put exactly one mso wheel")
    return found[0]


def wheel_version(wheel: Path) -> str:
    """The version in the wheel's METADATA (the file name may have escaped it)."""
    with zipfile.ZipFile(wheel) as z:
        name = next((n for n in z.namelist() if n.endswith(".dist-info/METADATA")), None)
        if name is None:
            raise MsoError(f"{wheel} has no METADATA: build it again with `python -m build --wheel`")
        return email.parser.Parser().parsestr(z.read(name).decode())["Version"]


def git(*args: str) -> str:
    proc = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def source_url() -> str:
    """The project's address without any credentials (a CI clone's origin carries a token)."""
    url = os.environ.get("CI_PROJECT_URL") or git("remote", "get-url", "origin")
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return ""
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def context(folder: Path, wheel: Path) -> None:
    """The build context: the Dockerfile, mso's wheel and its dependencies' wheels."""
    shutil.copy(DOCKERFILE, folder / "Dockerfile")
    (folder / "mso").mkdir()
    shutil.copy(wheel, folder / "mso" / wheel.name)
    say(f"downloading the wheels of {wheel.name}'s dependencies for Python {DEBIAN_PYTHON}")
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--only-binary=:all:", "--python-version", DEBIAN_PYTHON, "--dest", str(folder / "wheels"),
            f"mso[cloud] @ {wheel.resolve().as_uri()}"]   # with openstacksdk, for `openstack` runs
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise MsoError(f"{shlex.join(argv)} failed (exit {proc.returncode}): {last}")
    (folder / "wheels" / wheel.name).unlink(missing_ok=True)   # in mso/: its own layer
    for path in folder.rglob("*"):
        os.utime(path, (STEADY, STEADY))


def workspace() -> Path:
    """A folder of the same name on every build: ch-image's cache key of a COPY holds the
    sources' paths, sizes and times (so the context's times are set to STEADY, too)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "mso" / "job-image"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "context").mkdir(parents=True)
    return folder


def build_args(version: str, base: str, base_digest: str) -> dict[str, str]:
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"BASE": base, "BASE_DIGEST": base_digest, "MSO_VERSION": version,
            "MSO_REVISION": os.environ.get("CI_COMMIT_SHA") or git("rev-parse", "HEAD") or "unknown",
            "MSO_SOURCE": source_url() or "unknown", "MSO_CREATED": created}


# --- the image config the Dockerfile means ---------------------------------------------------------

def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) per Dockerfile instruction, continuation lines joined."""
    out, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, rest = pending.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def meant_config(text: str, args: dict[str, str]) -> dict:
    """Labels, User and WorkingDir of the final stage, its ARGs filled in."""
    values, config = dict(args), {"Labels": {}}

    def fill(words: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m[1], ""), words)
    for word, rest in instructions(text):
        if word == "FROM":
            config = {"Labels": {}}
        elif word == "ARG":
            name, _, default = rest.partition("=")
            values.setdefault(name, default)
        elif word == "LABEL":
            config["Labels"].update(dict(p.split("=", 1) for p in shlex.split(fill(rest))))
        elif word in ("USER", "WORKDIR"):
            config["User" if word == "USER" else "WorkingDir"] = fill(rest)
    return config


# --- the whole ---------------------------------------------------------------------------------

def credentials() -> tuple[str, str] | None:
    return Access(None, GITLAB_USER, GITLAB_PASSWORD).credentials()


def builder_environ() -> dict[str, str]:
    """The builder's environment; ch-image's cache is a git repository and needs an identity."""
    env = dict(os.environ)
    for key in ("GIT_AUTHOR", "GIT_COMMITTER"):
        env.setdefault(f"{key}_NAME", "mso build-job-image")
        env.setdefault(f"{key}_EMAIL", "mso-build@localhost")
    return env


def push(name: str, job: builders.Job, creds: tuple[str, str] | None) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return builders.push(name, job, creds, say, builder_environ())
        except process.Transient as exc:
            if attempt == ATTEMPTS:
                raise MsoError(f"push of {job.target} failed {ATTEMPTS} times: {exc.reason}") from None
            say(f"push failed ({exc.reason}); attempt {attempt + 1} of {ATTEMPTS}")


def main(argv: list[str]) -> int:
    opts = arguments(argv)
    wheel, target, base = the_wheel(opts.wheel_dir), parse(opts.tag), parse(opts.base)
    if not target.tag or target.digest:
        raise MsoError(f"--tag {opts.tag}: give a tag (HOST/PATH:TAG, e.g. $CI_REGISTRY_IMAGE/job:1.0.0)")
    creds = credentials()
    version, found = wheel_version(wheel), digest_of(base, target)
    args = build_args(version, opts.base, found)
    name = builders.choose(False)
    say(f"building {target} (mso {version}) FROM {opts.base}@{found} with {name} "
        "(MSO_BUILDER chooses)")
    work = workspace()
    context(work / "context", wheel)
    job = builders.Job("job-image", work / "context" / "Dockerfile", False, work / "context", target,
                       args, work / "build", pull_auth=bool(creds) and base.registry == target.registry)
    builders.build(name, job, creds, say, builder_environ())
    if not opts.push:
        print(f"built {target} (not pushed: --push pushes)")
        return 0
    push(name, job, creds)
    pushed = Pushed(target, creds)
    if pushed.complete(meant_config(DOCKERFILE.read_text(), args)):
        say(f"{name} left out labels, user or working directory: completed the pushed config")
    digest = digest_of(target, target)
    opts.digest_file.write_text(digest + "\n")
    say(f"pushed {target.name}@{digest}; the digest is in {opts.digest_file}")
    print(digest)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except MsoError as exc:
        print(f"build-job-image: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
