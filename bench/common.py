"""Shared by the cluster benchmarks: start the test cluster, make a repository that reaches it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = Path("/var/lib/mso-test/env")


def cluster() -> dict[str, str]:
    """Start (or check) the test cluster through the project's own script; its facts."""
    subprocess.run([str(ROOT / ".ci/services/cluster-up")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return dict(ln.split("=", 1) for ln in ENV_FILE.read_text().splitlines() if "=" in ln)


def repository(root: Path, env: dict[str, str], app: str, experiment: str,
               kind: str = "slurm", poll: str = "{min: 1, max: 60}") -> dict[str, str]:
    """Write a repository with one application, one experiment and the cluster; returns the
    environment mso needs (secrets by variable name, as in production)."""
    for folder in ("applications", "datasets", "experiments", "infrastructures"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "applications" / f"{yaml.safe_load(app)['name']}.yaml").write_text(app)
    (root / "experiments" / "bench.yaml").write_text(experiment)
    (root / "infrastructures" / "cluster.yaml").write_text(
        f"name: cluster\nkind: {kind}\nhost: {env['MSO_TEST_SSH_HOST']}\n"
        f"port: {env['MSO_TEST_SSH_PORT']}\nuser: {{env: BENCH_USER}}\nkey: {{env: BENCH_KEY}}\n"
        f"known_hosts: {{env: BENCH_KNOWN_HOSTS}}\nwork_root: mso-bench\npartition: debug\n"
        f"poll_interval: {poll}\n")
    return {**os.environ, "BENCH_USER": env["MSO_TEST_SSH_USER"],
            "BENCH_KEY": env["MSO_TEST_SSH_KEY_FILE"],
            "BENCH_KNOWN_HOSTS": env["MSO_TEST_KNOWN_HOSTS_FILE"]}


def mso(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runner", "-C", str(root), *args], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def timed_run(root: Path, env: dict[str, str]) -> tuple[float, dict]:
    """`mso run --json bench` in `root`: its wall time and the watcher's stats."""
    t0 = time.perf_counter()
    proc = mso(root, env, "run", "--json", "bench")
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"mso run failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, json.loads(out)["stats"]
