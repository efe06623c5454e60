#!/usr/bin/env python3
"""`mso build --push` on an unchanged repository of 50 applications: every image is already in
the registry under its content tag, so mso must only hash each recipe and context and ask the
registry (one HEAD per image), building and pushing nothing.

    .venv/bin/python bench/build.py [--apps 50] [--repeat 3]

The registry is the real test registry (TLS, htpasswd), started by .ci/services/registry-up.
The 50 images are built FROM scratch with one COPY: what is measured never touches image bytes,
and this way the one-time setup (a real `mso build --push` of all 50 through ch-image) takes
about two minutes instead of 50 pushes of the 324 MB numpy base (~40 s each). Their contents
are deterministic, so a second run of the bench finds them pushed already.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = Path("/var/lib/mso-test/env")
APP = """name: {name}
version: "1.0"
description: Benchmark application {i}.
command: [python3, /app/main.py]
container:
  build: {{dockerfile: applications/{name}/Dockerfile}}
  registry: {{image: {registry}/bench, username: {{env: BENCH_REGISTRY_USER}},
             password: {{env: BENCH_REGISTRY_PASSWORD}}}}
"""


def services() -> dict[str, str]:
    """Start (or check) the test registry through the project's own script; its facts."""
    subprocess.run([str(ROOT / ".ci/services/registry-up")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return dict(ln.split("=", 1) for ln in ENV_FILE.read_text().splitlines() if "=" in ln)


def repository(root: Path, apps: int, registry: str) -> None:
    for folder in ("applications", "datasets", "experiments", "infrastructures"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for i in range(apps):
        name = f"app-{i:02d}"
        folder = root / "applications" / name
        folder.mkdir()
        (folder / "Dockerfile").write_text("FROM scratch\nCOPY main.py /app/main.py\n")
        (folder / "main.py").write_text(f"print('application {i}')\n")
        (root / "applications" / f"{name}.yaml").write_text(
            APP.format(name=name, i=i, registry=registry))


def mso(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runner", "-C", str(root), *args], env=env,
                          cwd=ROOT, capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    facts = services()
    env = {**os.environ, "REQUESTS_CA_BUNDLE": facts["MSO_TEST_CA_BUNDLE"],
           "BENCH_REGISTRY_USER": facts["MSO_TEST_REGISTRY_USER"],
           "BENCH_REGISTRY_PASSWORD": Path(facts["MSO_TEST_REGISTRY_PASSWORD_FILE"]).read_text().strip(),
           "CH_IMAGE_STORAGE": "/var/tmp/mso-bench.ch"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repository(root, opts.apps, facts["MSO_TEST_REGISTRY"])
        start = time.perf_counter()
        setup = mso(root, env, "build", "--push", "--quiet")
        if setup.returncode:
            raise SystemExit(f"setup failed:\n{setup.stderr}")
        built = sum(" pushed " in ln for ln in setup.stdout.splitlines())
        print(f"setup: {built} of {opts.apps} pushed now, the rest already there "
              f"({time.perf_counter() - start:.1f} s)", flush=True)
        times = []
        for _ in range(opts.repeat):
            start = time.perf_counter()
            proc = mso(root, env, "build", "--push")
            times.append(time.perf_counter() - start)
            lines = proc.stdout.splitlines()
            fresh = [ln for ln in lines if "up to date" not in ln]
            if proc.returncode or len(lines) != opts.apps or fresh:
                raise SystemExit(f"not a no-op (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
        print(f"runs: {', '.join(f'{t:.2f}' for t in times)} s; median {statistics.median(times):.2f} s")
    print(f"build_noop_seconds = {statistics.median(times):.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
