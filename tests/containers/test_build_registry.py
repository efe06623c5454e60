"""`mso build` against the real test registry (TLS, htpasswd) with the real ch-image builder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, mso
from tests.containers.conftest import BaseImage, Registry

pytestmark = pytest.mark.integration

STORAGE = "/var/tmp/mso-test-build.ch"   # ch-image's storage for these tests: keeps the pulled base
SESSION = uuid.uuid4().hex[:8]           # a namespace of this session's own in the registry
APP = """\
name: {name}
version: "1.0"
description: A tiny image for the build tests.
command: [python3, /app/hello.py]
container:
  build:
    dockerfile: applications/{name}/Dockerfile
    args: {{BASE: "{base}"}}
  registry: {{image: "{host}/t{session}", username: {{env: TEST_REG_USER}},
             password: {{env: TEST_REG_PASSWORD}}}}
"""
FROM_BASE = "ARG BASE\nFROM $BASE\nCOPY hello.py /app/hello.py\n"
FROM_SCRATCH = "FROM scratch\nCOPY hello.py /app/hello.py\n"


def make_repo(root: Path, name: str, dockerfile: str, host: str, base: str = "") -> Path:
    for folder in ("applications", "datasets", "experiments", "infrastructures"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    folder = root / "applications" / name
    folder.mkdir()
    (folder / "Dockerfile").write_text(dockerfile)
    (folder / "hello.py").write_text(f"print('hello from {name} {SESSION}')\n")
    (root / "applications" / f"{name}.yaml").write_text(
        APP.format(name=name, base=base, host=host, session=SESSION))
    return root


def environment(registry: Registry, password: str | None = None) -> dict[str, str]:
    return {"REQUESTS_CA_BUNDLE": str(registry.bundle), "TEST_REG_USER": registry.user,
            "TEST_REG_PASSWORD": registry.password if password is None else password,
            "CH_IMAGE_STORAGE": STORAGE, "MSO_REGISTRY_ATTEMPTS": "3"}


def api(registry: Registry, path: str, method: str = "GET") -> requests.Response:
    return requests.request(method, registry.url(path), auth=(registry.user, registry.password),
                            verify=str(registry.bundle), timeout=30, headers={"Accept": ", ".join((
                                "application/vnd.oci.image.manifest.v1+json",
                                "application/vnd.docker.distribution.manifest.v2+json"))})


def tags(registry: Registry, name: str) -> list[str]:
    res = api(registry, f"t{SESSION}/{name}/tags/list")
    return [] if res.status_code == 404 else sorted(res.json().get("tags") or [])


def recorded(repo: Path) -> dict:
    path = repo / ".mso" / "images.json"
    return json.loads(path.read_text())["images"] if path.exists() else {}


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("mso: ")
              and not ln.startswith("mso: building with")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.fixture(scope="module")
def pushed(registry: Registry, base_image: BaseImage, tmp_path_factory) -> tuple[Path, dict]:
    """An application FROM the base image, built and pushed once by `mso build --push`."""
    repo = make_repo(tmp_path_factory.mktemp("pushed"), "hello", FROM_BASE, registry.host,
                     base_image.reference)
    proc = mso("build", "--push", "--json", repo=repo, env=environment(registry), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return repo, json.loads(proc.stdout)["images"][0]


def test_built_from_the_base_pushed_and_pinned_by_the_registrys_digest(pushed, registry):
    repo, image = pushed
    assert image["state"] == "pushed" and image["builder"] == "ch-image"
    assert image["reference"].startswith(f"{registry.host}/t{SESSION}/hello:1.0-")
    head = api(registry, f"t{SESSION}/hello/manifests/{image['tag']}", "HEAD")
    assert head.status_code == 200
    assert image["digest"] == head.headers["Docker-Content-Digest"]
    entry = recorded(repo)["hello"]
    assert entry["digest"] == image["digest"]
    assert entry["pinned"] == f"{registry.host}/t{SESSION}/hello@{image['digest']}"


def test_an_unchanged_application_is_neither_rebuilt_nor_pushed(pushed, registry):
    repo, image = pushed
    before = tags(registry, "hello")
    proc = mso("build", "--push", repo=repo, env=environment(registry), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["hello", "up", "to", "date", image["reference"], image["digest"]]
    assert "building" not in proc.stderr and "pushing" not in proc.stderr
    assert tags(registry, "hello") == before == [image["tag"]]


def test_a_changed_context_file_gives_a_new_tag(pushed, registry, tmp_path):
    repo, image = pushed
    (repo / "applications" / "hello" / "hello.py").write_text("print('changed')\n")
    try:
        proc = mso("build", "--json", repo=repo, env=environment(registry), timeout=300)
    finally:
        (repo / "applications" / "hello" / "hello.py").write_text(
            f"print('hello from hello {SESSION}')\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    now = json.loads(proc.stdout)["images"][0]
    assert now["state"] == "built" and now["tag"] != image["tag"] and now["tag"].startswith("1.0-")
    assert tags(registry, "hello") == [image["tag"]]   # built without --push: nothing pushed


def test_a_declared_image_is_resolved_to_the_registrys_digest(registry, base_image, tmp_path):
    repo = make_repo(tmp_path, "ready", FROM_SCRATCH, registry.host)
    text = (repo / "applications" / "ready.yaml").read_text()
    text = text.replace("  build:\n    dockerfile: applications/ready/Dockerfile\n"
                        "    args: {BASE: \"\"}\n", f"  image: {base_image.reference}\n")
    (repo / "applications" / "ready.yaml").write_text(text)
    proc = mso("build", "--json", repo=repo, env=environment(registry))
    assert proc.returncode == 0, proc.stderr
    image = json.loads(proc.stdout)["images"][0]
    assert (image["state"], image["digest"]) == ("resolved", base_image.digest)
    assert recorded(repo)["ready"]["source"] == "image"


@pytest.mark.parametrize("image, says", [
    ("{host}/lab/none:1", "is not in the registry"),
    ("{host}/Lab/heat:1", "does not parse: path component 'Lab'"),
    ("{host}/lab/heat@sha256:123", "does not parse: digest"),
])
def test_bad_image_references_are_one_line_with_file_and_line(registry, tmp_path, image, says):
    repo = make_repo(tmp_path, "ready", FROM_SCRATCH, registry.host)
    text = (repo / "applications" / "ready.yaml").read_text()
    text = text.replace("  build:\n    dockerfile: applications/ready/Dockerfile\n"
                        "    args: {BASE: \"\"}\n", f"  image: {image.format(host=registry.host)}\n")
    (repo / "applications" / "ready.yaml").write_text(text)
    line = one_line_error(mso("build", repo=repo, env=environment(registry)))
    assert line.startswith("mso: applications/ready.yaml:6:") and says in line


def test_a_recipe_that_does_not_exist_is_one_line(registry, tmp_path):
    repo = make_repo(tmp_path, "hello", FROM_SCRATCH, registry.host)
    (repo / "applications" / "hello" / "Dockerfile").unlink()
    line = one_line_error(mso("build", "--push", repo=repo, env=environment(registry)))
    assert line.startswith("mso: applications/hello.yaml:7:") and "does not exist" in line


def test_a_wrong_password_fails_at_once_naming_the_variable(registry, tmp_path):
    repo = make_repo(tmp_path, "denied", FROM_SCRATCH, registry.host)
    secret = "Wr0ng-" + uuid.uuid4().hex
    proc = mso("build", "--push", repo=repo, env=environment(registry, secret), timeout=30)
    line = one_line_error(proc)
    assert "refused the credentials" in line and "TEST_REG_PASSWORD" in line
    assert "building" not in proc.stderr and "attempt" not in proc.stderr
    for text in (proc.stdout, proc.stderr, json.dumps(recorded(repo))):
        assert secret not in text
    assert tags(registry, "denied") == []


def test_without_credentials_it_builds_and_says_it_did_not_push(registry, tmp_path):
    repo = make_repo(tmp_path, "fork", FROM_SCRATCH, registry.host)
    proc = mso("build", "--push", repo=repo, env=environment(registry, ""), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "fork: built, not pushed: no registry credentials (set TEST_REG_USER and " \
           "TEST_REG_PASSWORD)" in proc.stderr
    assert proc.stdout.split()[:2] == ["fork", "built"] and tags(registry, "fork") == []
    assert recorded(repo)["fork"]["digest"] is None


def test_a_failing_build_shows_the_builders_last_lines_and_pushes_nothing(registry, base_image,
                                                                          tmp_path):
    repo = make_repo(tmp_path, "broken", FROM_BASE + "RUN echo about-to-fail && false\n",
                     registry.host, base_image.reference)
    proc = mso("build", "--push", repo=repo, env=environment(registry), timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    tail = proc.stderr[proc.stderr.index("mso: ch-image build of broken failed"):]
    assert "its last lines:" in tail and "about-to-fail" in tail
    assert tags(registry, "broken") == [] and recorded(repo) == {}


class Proxy:
    """A TCP relay to the registry that the test can cut, as a registry going down would."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        try:   # wakes the thread blocked in accept(); a bare close() would leave it listening
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_the_registry_down_during_a_push_is_retried_then_one_clear_line(registry, tmp_path):
    proxy = Proxy(int(registry.host.rsplit(":", 1)[1]))
    host = f"127.0.0.1:{proxy.port}"
    repo = make_repo(tmp_path, "flaky", FROM_SCRATCH, host)
    env = {**os.environ, "PYTHONPATH": str(ROOT), **environment(registry)}
    proc = subprocess.Popen([sys.executable, "-m", "runner", "-C", str(repo), "build", "--push"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:   # the registry answered "no such tag"; now it goes away
        seen.append(line)
        if "flaky: building" in line:
            proxy.stop()
    assert proc.wait(timeout=120) == 1
    stderr = "".join(seen)
    assert "attempt 2 of 3" in stderr and "attempt 3 of 3" in stderr
    last = [ln for ln in seen if ln.startswith("mso: ")][-1]
    assert "push to" in last and "failed after 3 attempts" in last and "nothing was recorded" in last
    assert "Traceback" not in stderr and proc.stdout.read() == ""
    assert recorded(repo) == {} and tags(registry, "flaky") == []
