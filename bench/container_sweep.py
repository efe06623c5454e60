#!/usr/bin/env python3
"""What running in an image costs a sweep: 200 tasks of a trivial command on the test cluster
through mso (Slurm, over sshd, as the test user), bare (`container_runtime: none`) against the
same sweep in the base image through `ch-run` (`container_runtime: charliecloud`).

The image cache is emptied first, so the first run in the image pulls it (the pull count is
printed: goal 1); the runs compared are then alternated, bare and in the image, with the image
cached, as every later run of the same digest finds it: the ratio is what ch-run adds per run,
and the first run's time with its pull is printed beside it.

    .venv/bin/python bench/container_sweep.py [--tasks 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import ROOT, cluster, mso, repository

APP = """name: trivial
version: "1"
description: Does nothing, successfully.
command: ["true", "{{i}}"]
parameters: {{type: object, properties: {{i: {{type: integer}}}}}}
{container}"""
EXPERIMENT = "name: bench\napplication: trivial\ninfrastructure: cluster\nmatrix: {{i: {points}}}\n"
WORK_ROOT = "mso-bench-containers"   # under the test user's home; its .images is the cache


def services() -> dict[str, str]:
    """The cluster, the registry and the base image, started (or checked) by the project's
    own scripts; their facts."""
    facts = cluster()
    for script in ("registry-up", "base-image-up"):
        subprocess.run([str(ROOT / ".ci/services" / script)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {**facts, **dict(ln.split("=", 1) for ln in
                            Path("/var/lib/mso-test/env").read_text().splitlines() if "=" in ln)}


def registry_env(facts: dict[str, str]) -> dict[str, str]:
    """GitLab's registry variables for the test registry (the password from its root-only file)."""
    host = facts["MSO_TEST_REGISTRY"]
    password = Path(facts["MSO_TEST_REGISTRY_PASSWORD_FILE"]).read_text().strip()
    return {"CI_REGISTRY": host, "CI_REGISTRY_IMAGE": f"{host}/lab",
            "CI_REGISTRY_USER": facts["MSO_TEST_REGISTRY_USER"], "CI_REGISTRY_PASSWORD": password,
            "REQUESTS_CA_BUNDLE": facts["MSO_TEST_CA_BUNDLE"]}


def one(facts: dict[str, str], tasks: int, image: str | None) -> tuple[float, int]:
    """Wall seconds of one `mso run` of the sweep, and the image pulls it made."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        container = f"container: {{image: '{image}'}}\n" if image else ""
        env = repository(root, facts, APP.format(container=container),
                         EXPERIMENT.format(points=list(range(tasks))), poll="{min: 1, max: 10}")
        infra = root / "infrastructures" / "cluster.yaml"
        text = infra.read_text()
        if image:
            text = text.replace("work_root: mso-bench\n", f"work_root: {WORK_ROOT}\n")
            text += "container_runtime: charliecloud\n"
        infra.write_text(text)
        t0 = time.perf_counter()
        proc = mso(root, {**env, **registry_env(facts)}, "run", "--json", "bench")
        out, err = proc.communicate()
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"mso run failed ({proc.returncode}):\n{err[-3000:]}")
        [run] = json.loads(out)["runs"]
        return wall, run["image_pulls"]


def empty_cache(facts: dict[str, str]) -> None:
    user = facts["MSO_TEST_SSH_USER"]
    subprocess.run(["su", "-s", "/bin/sh", user, "-c", f"rm -rf ~/{WORK_ROOT}"], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="pairs of runs compared (bare, image); "
                    "the medians are compared, so one slow run on a noisy machine does not decide")
    a = ap.parse_args()
    facts = services()
    image = facts["MSO_TEST_BASE_IMAGE"]
    empty_cache(facts)
    cold, pulls = one(facts, a.tasks, image)
    bare, warm, later = [], [], []
    for _ in range(a.repeat):
        bare.append(one(facts, a.tasks, None)[0])
        seconds, n = one(facts, a.tasks, image)
        warm.append(seconds)
        later.append(n)
    b, w = statistics.median(bare), statistics.median(warm)
    print(f"{a.tasks} tasks on the test cluster: bare {b:.1f} s; in {image} through ch-run "
          f"{w:.1f} s (image cached); the first run in the image, with its pull, {cold:.1f} s "
          f"(ratio {cold / b:.2f})")
    print(f"image pulls: {pulls} in the first run (goal: 1), {sum(later)} in the later "
          f"{len(later)} (goal: 0)")
    print(f"container_overhead_ratio = {w / b:.2f} (goal <= 1.15)")


if __name__ == "__main__":
    main()
