#!/usr/bin/env python3
"""A status query of 1000 jobs through slurmrestd (SlurmRestScheduler.status: one GET) against
the same query through the SSH transport (SlurmScheduler.status: one remote command, squeue and,
only for what ended, sacct), measured in the same run, interleaved.

The jobs are one 1000-task array of `sleep`, submitted held (so the cluster's other work does
not change them between samples) and cancelled at the end. Both schedulers are built by mso's
own Context, as `mso run` builds them: the REST one reaches the test cluster's slurmrestd with a
token made by `scontrol token` (this runs as root), the other the test sshd as the test user.

    .venv/bin/python bench/rest_latency.py [--n 20]

It starts what it needs with .ci/services/cluster-up (bench/common.py). The last line is
`rest_status_ratio = <value> (goal <= 1.5)`: the REST median over the SSH median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import cluster  # noqa: E402
from runner.declarations.models import EnvRef, Infrastructure, SlurmApi  # noqa: E402
from runner.plan.resolve import TaskPlan  # noqa: E402
from runner.schedulers.base import Job  # noqa: E402
from runner.schedulers.context import Context  # noqa: E402
from runner.state import State  # noqa: E402

TASKS, GOAL, NAME = 1000, 1.5, "mso.bench-rest.main"


def infrastructures(env: dict[str, str]) -> tuple[Infrastructure, Infrastructure]:
    """The test cluster as mso declares it: over SSH, and the same with `api` (slurmrestd)."""
    os.environ.update(BENCH_KEY=env["MSO_TEST_SSH_KEY_FILE"], BENCH_KNOWN_HOSTS=env["MSO_TEST_KNOWN_HOSTS_FILE"])
    token = subprocess.run(["scontrol", "token", f"username={env['MSO_TEST_SSH_USER']}", "lifespan=3600"],
                           capture_output=True, text=True, check=True).stdout
    os.environ["BENCH_SLURM_JWT"] = token.strip().split("=", 1)[1]
    ssh = Infrastructure(name="cluster", kind="slurm", host=env["MSO_TEST_SSH_HOST"],
                         port=int(env["MSO_TEST_SSH_PORT"]), user=env["MSO_TEST_SSH_USER"],
                         key=EnvRef("BENCH_KEY"), known_hosts=EnvRef("BENCH_KNOWN_HOSTS"),
                         partition="debug", work_root="mso-bench")
    api = SlurmApi(env["MSO_TEST_SLURMRESTD_URL"], EnvRef("BENCH_SLURM_JWT"))
    return ssh, Infrastructure(**{**ssh.__dict__, "name": "rest", "api": api})


def held_array(transport) -> dict[str, Job]:
    """Submit the held 1000-task array; its elements as status() takes them."""
    cmd = (f"sbatch --parsable --hold --array=0-{TASKS - 1} --job-name={NAME} --partition=debug "
           f"--output=/dev/null --wrap='sleep 600'")
    array = transport.run(cmd).check("submitting the bench's array").stdout.strip().split(";")[0]
    jobs = {}
    for i in range(TASKS):
        task = TaskPlan(id=f"main-{i:04d}", step="main", index=i, application="sleep@1",
                        infrastructure="cluster", parameters={}, argv=("sleep", "600"))
        jobs[f"{array}_{i}"] = Job(task, f"mso.bench-rest.main-{i:04d}", PurePosixPath("/tmp") / task.id)
    return jobs


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def describe(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return (f"{name:<34} median {statistics.median(ms):8.2f} ms   min {ms[0]:8.2f}   "
            f"max {ms[-1]:8.2f}   (n={len(ms)})")


def measure(ssh, rest, jobs: dict[str, Job], n: int) -> tuple[list[float], list[float]]:
    """n status queries of each, interleaved, after one of each to warm up (and to check them)."""
    for sched in (ssh, rest):
        told = sched.status(jobs)
        if len(told) != TASKS or any(s.state != State.QUEUED for s in told.values()):
            raise SystemExit(f"{type(sched).__name__}.status told {len(told)} of {TASKS} jobs queued")
    a, b = [], []
    for _ in range(n):
        a.append(timed(lambda: ssh.status(jobs)))
        b.append(timed(lambda: rest.status(jobs)))
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="queries of each (default 20)")
    args = parser.parse_args()
    env = cluster()
    with Context() as ctx:
        ssh_infra, rest_infra = infrastructures(env)
        ssh, rest = ctx.scheduler(ssh_infra), ctx.scheduler(rest_infra)
        jobs = held_array(ssh.transport)
        try:
            by_ssh, by_rest = measure(ssh, rest, jobs, args.n)
            everything = [timed(lambda: rest.api.call("GET", "/slurm/v0.0.38/jobs")) for _ in range(3)]
        finally:
            ssh.transport.run(f"scancel --name={NAME}")
    print(f"status of {TASKS} jobs (one held array), {args.n} queries of each, interleaved")
    print(describe("ssh: SlurmScheduler.status", by_ssh))
    print(describe("rest: SlurmRestScheduler.status", by_rest))
    print(describe("rest: every job of the cluster", everything) + "  (jobs of several arrays)")
    print(f"rest_status_ratio = {statistics.median(by_rest) / statistics.median(by_ssh):.2f} (goal <= {GOAL})")


if __name__ == "__main__":
    main()
