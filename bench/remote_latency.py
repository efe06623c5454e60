#!/usr/bin/env python3
"""Median latency of `squeue -h` through the SSH transport (one connection, one long-lived
remote login shell) against the same command run locally, measured in the same run.

The two are interleaved (local, remote, local, ...) so load on the machine hits both alike.
Locally `squeue -h` runs as this user (root) through subprocess; remotely as the test user over
the test sshd on 127.0.0.1. The ratio is the cost of going through the transport.

    .venv/bin/python bench/remote_latency.py [--n 100]

It starts what it needs with .ci/services/cluster-up (idempotent; needs root). The last line is
`remote_latency_ratio = <value> (goal <= 1.5)`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.transports.settings import SSHSettings  # noqa: E402
from runner.transports.ssh import SSHTransport  # noqa: E402

ENV_FILE = Path("/var/lib/mso-test/env")
COMMAND = "squeue -h"
GOAL = 1.5


def cluster_env() -> dict[str, str]:
    """Start (or check) the test cluster and return its MSO_TEST_* facts."""
    up = subprocess.run([str(ROOT / ".ci" / "services" / "cluster-up")], capture_output=True,
                        text=True)
    if up.returncode:
        raise SystemExit(f"cluster-up failed ({up.returncode}):\n{up.stdout}{up.stderr}")
    pairs = (ln.split("=", 1) for ln in ENV_FILE.read_text().splitlines() if "=" in ln)
    return {k: v for k, v in pairs}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_local() -> None:
    proc = subprocess.run(COMMAND.split(), capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"local `{COMMAND}` failed ({proc.returncode}): {proc.stderr}")


def describe(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[int(len(ms) * 0.9) - 1]
    return (f"{name:<28} median {statistics.median(ms):7.2f} ms   min {ms[0]:7.2f}   "
            f"p90 {p90:7.2f}   mean {statistics.fmean(ms):7.2f}   (n={len(ms)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="runs of each (default 100)")
    args = parser.parse_args()
    env = cluster_env()
    os.environ["MSO_BENCH_SSH_KEY"] = env["MSO_TEST_SSH_KEY_FILE"]
    os.environ["MSO_BENCH_KNOWN_HOSTS"] = env["MSO_TEST_KNOWN_HOSTS_FILE"]
    ssh = SSHTransport(SSHSettings(env["MSO_TEST_SSH_HOST"], int(env["MSO_TEST_SSH_PORT"]),
                                   env["MSO_TEST_SSH_USER"], key_var="MSO_BENCH_SSH_KEY",
                                   known_hosts_var="MSO_BENCH_KNOWN_HOSTS"))

    def run_remote() -> None:
        ssh.run(COMMAND, timeout=60).check(f"remote `{COMMAND}`")

    try:
        connect = timed(lambda: ssh.run("true"))  # connection + login shell, once
        for _ in range(3):  # warm both paths (page cache, slurmctld's caches)
            run_local(), run_remote()
        local, remote, bare = [], [], []
        for _ in range(args.n):
            local.append(timed(run_local))
            remote.append(timed(run_remote))
            bare.append(timed(lambda: ssh.run("true")))
    finally:
        ssh.close()
    ratio = statistics.median(remote) / statistics.median(local)
    print(f"`{COMMAND}` {args.n} times each, interleaved; remote as {env['MSO_TEST_SSH_USER']} "
          f"over {env['MSO_TEST_SSH_HOST']}:{env['MSO_TEST_SSH_PORT']}")
    print(f"first connection + login shell: {connect * 1000:.1f} ms (not counted)")
    print(describe("local (subprocess)", local))
    print(describe("remote (ssh transport)", remote))
    print(describe("remote `true` (overhead)", bare))
    print(f"remote_latency_ratio = {ratio:.3f} (goal <= {GOAL})")


if __name__ == "__main__":
    main()
