"""The mso job image, for real: mso's wheel built from this checkout, the image built from it with
scripts/build-job-image (ch-image, FROM the test base image of .ci/services/base-image-up), pushed
to the test registry under a tag of its own, then run with Charliecloud as the unprivileged test
user, and its labels read back from the registry's config blob.

The builder's storage is this test's own (STORAGE, kept between sessions: its build cache makes a
second build reuse every layer but the last), so it never waits for the container tests' lock;
a lock file keeps two workers from using it at once, and the first worker's image serves both."""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, require, unavailable
from tests.containers.conftest import CH_PATH, as_user, read_env

pytestmark = pytest.mark.integration

STORAGE = Path("/var/tmp/mso-test-job-image.ch")
LOCK = Path("/var/tmp/mso-test-job-image.lock")
RECORD = Path("/var/tmp/mso-test-job-image.json")   # the last session's image
LEFT_OUT = (".venv", "build", "dist", "site", ".mso", ".pytest_cache", "__pycache__", "*.egg-info",
            ".gitlab-ci-local", "node")
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Pushed:
    """The pushed image and what the build said."""

    reference: str   # host:port/mso-test/job:TAG
    digest: str
    stdout: str
    version: str     # the wheel's
    env: dict        # the services' env file
    auth: tuple = field(repr=False)   # the registry's user and password: out of tracebacks
    image: Path = Path()   # the image as a directory, readable by the test user
    revisions: tuple = ()  # HEAD before and after the build

    def api(self, path: str, **kw) -> requests.Response:
        host, _, _ = self.reference.partition("/")
        res = requests.get(f"https://{host}/v2/{path}", auth=self.auth, timeout=30,
                           verify=self.env["MSO_TEST_REGISTRY_CA"], **kw)
        res.raise_for_status()
        return res


def wheel_version(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return next(ln.split(": ", 1)[1] for ln in z.read(meta).decode().splitlines()
                    if ln.startswith("Version: "))


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mso's wheel, built from a copy of this checkout (its git history too: the version)."""
    tmp = tmp_path_factory.mktemp("job-image-wheel")
    shutil.copytree(ROOT, tmp / "src", ignore=shutil.ignore_patterns(*LEFT_OUT), symlinks=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}   # the same code, the same wheel
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist"),
                           str(tmp / "src")], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, f"python -m build:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return tmp / "dist"


def services() -> tuple[dict, tuple]:
    """The services' env file, and the registry's credentials (root only)."""
    require(os.geteuid() == 0, "root", "the test builds as root and runs the image as the test user")
    env = read_env()
    require("MSO_TEST_BASE_IMAGE" in env, "the base image", "run .ci/services/base-image-up as root")
    password = Path(env["MSO_TEST_REGISTRY_PASSWORD_FILE"]).read_text().strip()
    require(Path("/usr/bin/ch-image").is_file(), "ch-image", "apt-get install charliecloud-builders")
    try:
        requests.get(f"https://{env['MSO_TEST_REGISTRY']}/v2/", timeout=5, verify=env["MSO_TEST_REGISTRY_CA"])
    except requests.RequestException as exc:
        unavailable(f"the test registry does not answer ({exc}); run .ci/services/registry-up")
    return env, (env["MSO_TEST_REGISTRY_USER"], password)


def build(wheels: Path, reference: str, env: dict, auth: tuple, cwd: Path) -> subprocess.CompletedProcess:
    """scripts/build-job-image --push, as the release job runs it (credentials by variable)."""
    environ = {**os.environ, "CH_IMAGE_STORAGE": str(STORAGE), "MSO_BUILDER": "ch-image",
               "REQUESTS_CA_BUNDLE": env["MSO_TEST_CA_BUNDLE"], "CI_REGISTRY_USER": auth[0],
               "CI_REGISTRY_PASSWORD": auth[1]}
    started = time.monotonic()
    proc = subprocess.run([str(ROOT / "scripts/build-job-image"), "--wheel-dir", str(wheels),
                           "--tag", reference, "--base", env["MSO_TEST_BASE_IMAGE"], "--push"],
                          capture_output=True, text=True, timeout=1800, env=environ, cwd=cwd)
    print(f"build-job-image took {time.monotonic() - started:.0f} s")
    assert proc.returncode == 0, f"build-job-image exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    assert auth[1] not in proc.stdout + proc.stderr
    return proc


def ch(*argv: str) -> None:
    env = {"PATH": CH_PATH, "USER": "root", "HOME": "/root", "CH_IMAGE_STORAGE": str(STORAGE)}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, f"{shlex.join(argv)}:\n{proc.stdout}{proc.stderr}"


def head() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()


def forget(record: dict) -> None:
    """An earlier session's image: out of the storage (its layers stay in the build cache)."""
    shutil.rmtree(Path(record["image"]).parent, ignore_errors=True)
    ch("ch-image", "delete", record["reference"])


def made(wheels: Path, tmp: Path, env: dict, auth: tuple) -> dict:
    """The image of this test session: built, pushed and converted by the first worker that asks,
    found in RECORD by the others (one build per session; the last one is kept until the next)."""
    session = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid-{os.getpid()}"
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # ch-image refuses a storage that another one uses
        record = json.loads(RECORD.read_text()) if RECORD.is_file() else {}
        if record.get("session") == session and Path(record["image"]).is_dir():
            return record
        if record:
            RECORD.unlink()
            forget(record)
        reference = f"{env['MSO_TEST_REGISTRY']}/mso-test/job:t{os.getpid()}-{int(time.time())}"
        before = head()
        proc = build(wheels, reference, env, auth, tmp)
        parent = Path(tempfile.mkdtemp(prefix="mso-job-image-", dir="/var/tmp"))
        parent.chmod(0o755)   # read by the unprivileged user
        ch("ch-convert", "-i", "ch-image", "-o", "dir", reference, str(parent / "img"))
        record = {"session": session, "reference": reference, "stdout": proc.stdout,
                  "revisions": sorted({before, head()}),   # (others may commit meanwhile)
                  "digest": (tmp / "job-image.digest").read_text().strip(), "image": str(parent / "img")}
        RECORD.write_text(json.dumps(record))
        return record


@pytest.fixture(scope="module")
def pushed(wheel_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    """The image built, pushed under a tag of this session's own, and converted to a directory."""
    env, auth = services()
    record = made(wheel_dir, tmp_path_factory.mktemp("job-image"), env, auth)
    return Pushed(record["reference"], record["digest"], record["stdout"],
                  wheel_version(next(wheel_dir.glob("*.whl"))), env, auth, Path(record["image"]),
                  tuple(record["revisions"]))


def inside(image: Pushed, command: str, bind: Path | None = None) -> subprocess.CompletedProcess:
    """`command` run in the image by ch-run, as the test user, with the image's environment."""
    mount = ["-b", f"{bind}:/mnt", "-c", "/mnt"] if bind else []   # (the image is read-only)
    script = f"export HOME=/mnt; {command}" if bind else command
    argv = ["ch-run", "--set-env", *mount, str(image.image), "--", "sh", "-c", script]
    return as_user(image.env["MSO_TEST_CONTAINER_USER"], shlex.join(argv), timeout=300)


def test_the_digest_is_printed_last_and_kept_in_job_image_digest(pushed: Pushed) -> None:
    host, _, rest = pushed.reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    res = pushed.api(f"{repository}/manifests/{tag}", headers={"Accept": MANIFEST})
    assert res.headers["Docker-Content-Digest"] == pushed.digest
    assert pushed.stdout.strip().splitlines()[-1] == pushed.digest


def test_the_labels_name_version_revision_and_base_digest(pushed: Pushed) -> None:
    _, _, rest = pushed.reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    manifest = pushed.api(f"{repository}/manifests/{tag}", headers={"Accept": MANIFEST}).json()
    config = pushed.api(f"{repository}/blobs/{manifest['config']['digest']}").json()["config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == pushed.version
    assert labels["org.opencontainers.image.revision"] in pushed.revisions
    assert labels["org.opencontainers.image.base.digest"] == pushed.env["MSO_TEST_BASE_IMAGE_DIGEST"]
    assert labels["org.opencontainers.image.base.name"] == pushed.env["MSO_TEST_BASE_IMAGE"]
    assert labels["org.opencontainers.image.created"].endswith("Z")
    assert config["User"] == "mso" and config["WorkingDir"] == "/home/mso"
    assert any(e.startswith("PATH=/opt/mso/bin:") for e in config["Env"])


@pytest.mark.parametrize("command, expected", [
    ("mso --version", "mso {version}"),
    ("rclone version", "rclone v1."),
    ("ch-run --version 2>&1", "0.31"),
    ("git --version", "git version 2."),
    ("ssh -V 2>&1", "OpenSSH_9"),
    ("python3 -c 'import openstack.version; print(\"openstacksdk\")' 2>&1 | tail -1", "openstacksdk"),
    ("id -un", "{user}"),
])
def test_the_tools_run_inside_as_the_test_user(pushed: Pushed, command: str, expected: str) -> None:
    proc = inside(pushed, command)
    assert proc.returncode == 0, f"{command}:\n{proc.stdout}{proc.stderr}"
    want = expected.format(version=pushed.version, user=pushed.env["MSO_TEST_CONTAINER_USER"])
    assert proc.stdout.splitlines()[0].startswith(want), proc.stdout


def test_mso_init_and_validate_in_a_fresh_folder_as_the_test_user(pushed: Pushed) -> None:
    user = pushed.env["MSO_TEST_CONTAINER_USER"]
    work = Path(tempfile.mkdtemp(prefix="mso-job-image-work-", dir="/var/tmp"))
    try:
        shutil.chown(work, user, user)
        proc = inside(pushed, "mso init demo && cd demo && mso validate", bind=work)
        assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}"
        assert (work / "demo" / ".gitlab-ci.yml").is_file()
        assert (work / "demo" / ".git").is_dir()   # git init, by the image's git
        assert (work / "demo").stat().st_uid == Path(f"/home/{user}").stat().st_uid
    finally:
        shutil.rmtree(work, ignore_errors=True)
