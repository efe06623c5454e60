"""Per-point reuse and image digests, for real: a sweep runs in an image on `local` through
ch-run (Charliecloud); the tag it names is then moved to another manifest (a new digest, as a
rebuild pushes), and one matrix value changes. Every point runs again, not only the new one: a
point is reused only when it ran in the digest the run resolves."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import requests

from tests.cluster.test_containers import registry_env
from tests.conftest import mso
from tests.containers.conftest import CH_PATH, BaseImage, Registry
from tests.containers.conftest import base_image, registry  # noqa: F401,F811 (fixtures used here)

pytestmark = pytest.mark.integration

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
APP = """\
name: echoer
version: "1"
description: Writes its point from inside the image.
container: {{image: '{image}'}}
command: [sh, -c, 'echo "$0" > out.txt', "{{label}}"]
parameters: {{type: object, properties: {{label: {{type: string}}}}}}
outputs: [out.txt]
"""


def tag_as(registry: Registry, base: BaseImage, tag: str, variant: str | None) -> str:
    """Point `tag` in the base image's repository at its manifest (variant None) or at a copy with
    an annotation (the same layers, another digest); the digest the registry answers."""
    session = requests.Session()
    session.auth, session.verify = (registry.user, registry.password), str(registry.ca)
    got = session.get(registry.url(f"{base.repository}/manifests/{base.tag}"),
                      headers={"Accept": MANIFEST}, timeout=30)
    got.raise_for_status()
    body = got.content if variant is None else json.dumps(
        {**got.json(), "annotations": {"org.example.variant": variant}}).encode()
    put = session.put(registry.url(f"{base.repository}/manifests/{tag}"), data=body,
                      headers={"Content-Type": got.headers["Content-Type"]}, timeout=30)
    put.raise_for_status()
    return put.headers["Docker-Content-Digest"]


def test_a_new_digest_under_the_same_tag_reruns_every_point(
        example: Path, base_image: BaseImage, registry: Registry, outside_tmp: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    tag = f"reuse-{os.getpid()}"
    first_digest = tag_as(registry, base_image, tag, None)
    image = f"{registry.host}/{base_image.repository}:{tag}"
    (example / "applications" / "echoer.yaml").write_text(APP.format(image=image))
    (example / "infrastructures" / "local.yaml").write_text(
        f"name: local\nkind: local\nwork_root: {outside_tmp}\ncontainer_runtime: charliecloud\n")
    exp = example / "experiments" / "echo.yaml"
    exp.write_text("name: echo\napplication: echoer\nmatrix: {label: [a, b, c]}\n")
    monkeypatch.delenv("USER", raising=False)
    env = {**registry_env(registry), "PATH": os.path.dirname(sys.executable) + os.pathsep + CH_PATH}

    def run() -> dict:
        proc = mso("run", "echo", "--json", repo=example, timeout=300, env=env)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        [summary] = json.loads(proc.stdout)["runs"]
        return json.loads((example / "results" / "echo" / summary["run_id"] / "run.json").read_text())

    first = run()
    assert [i["digest"] for i in first["images"]] == [first_digest]
    exp.write_text(exp.read_text().replace("[a, b, c]", "[a, b, d]"))
    same = run()
    assert sum(bool(t.get("reused")) for t in same["tasks"]) == 2, "same digest: a and b reused"
    second_digest = tag_as(registry, base_image, tag, f"moved-{os.getpid()}")
    assert second_digest != first_digest
    exp.write_text(exp.read_text().replace("[a, b, d]", "[a, b, e]"))
    planned = mso("plan", "--json", "echo", repo=example, timeout=120, env=env)
    assert planned.returncode == 0, planned.stderr
    [entry] = json.loads(planned.stdout)["experiments"]
    assert entry["points"] == {"new": 1, "reused": 0, "failed_before": 0, "rerun": 2}
    assert f"application echoer: image digest on local: {first_digest[:19]} → " \
           f"{second_digest[:19]}" in entry["changes"], entry["changes"]
    moved = run()
    assert [i["digest"] for i in moved["images"]] == [second_digest]
    assert not any(t.get("reused") for t in moved["tasks"]), "a new digest: every point runs"
    folder = example / "results" / "echo" / moved["run_id"]
    assert sorted((folder / t["id"] / "out.txt").read_text().strip() for t in moved["tasks"]) == \
        ["a", "b", "e"]
