"""The Slurm backend against the REAL test cluster (.ci/services/cluster-up): job arrays of real
wrappers submitted over SSH as the unprivileged user msotest, watched with one squeue (plus at
most one sacct) per poll, a failing task, a cancelled job, a walltime kill, adoption by name and
splitting at the array limit.

Skipped with the reason when /var/lib/mso-test/env is absent; failed instead under CI=true.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import time
from pathlib import Path, PurePosixPath
from typing import Iterator

import pytest

from runner.errors import SchedulerError
from runner.plan.resolve import TaskPlan
from runner.schedulers import script
from runner.schedulers.base import Job, JobStatus
from runner.schedulers.slurm import SlurmScheduler
from runner.schedulers.states import GENERIC_FAILURE
from runner.declarations.models import EnvRef, Infrastructure, Resources, freeze
from runner.state import State
from runner.transports.base import Result, Transport
from tests.conftest import unavailable

pytestmark = pytest.mark.integration

ENV_FILE = Path(os.environ.get("MSO_TEST_ENV_FILE", "/var/lib/mso-test/env"))
KEY_VAR, KNOWN_VAR = "MSO_T_SLURM_SSH_KEY", "MSO_T_SLURM_KNOWN_HOSTS"
POLL = 1.0
RUNS: list[str] = []   # run ids made here: their jobs are cancelled at the end


class Counting(Transport):
    """The real transport, counting the scheduler queries each poll makes."""

    def __init__(self, inner: Transport) -> None:
        self.inner, self.commands = inner, []

    def run(self, cmd: str, timeout: float | None = None, stdin: str | None = None,
            on_stderr=None) -> Result:
        self.commands.append(cmd)
        return self.inner.run(cmd, timeout=timeout, stdin=stdin, on_stderr=on_stderr)

    def put(self, local, remote): self.inner.put(local, remote)
    def get(self, remote, local): self.inner.get(remote, local)
    def exists(self, remote): return self.inner.exists(remote)
    def close(self): self.inner.close()


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Counting, Infrastructure, PurePosixPath]]:
    """An SSH transport to the cluster as msotest, its infrastructure, and a scratch folder."""
    if not ENV_FILE.is_file():
        unavailable(f"{ENV_FILE} is absent: start the test cluster with `sudo .ci/services/cluster-up`")
    env = dict(line.split("=", 1) for line in ENV_FILE.read_text().splitlines() if "=" in line)
    os.environ[KEY_VAR], os.environ[KNOWN_VAR] = env["MSO_TEST_SSH_KEY_FILE"], env["MSO_TEST_KNOWN_HOSTS_FILE"]
    from runner.schedulers.context import Context
    infra = Infrastructure(name="test-cluster", kind="slurm", host=env["MSO_TEST_SSH_HOST"],
                           port=int(env["MSO_TEST_SSH_PORT"]), user=env["MSO_TEST_SSH_USER"],
                           key=EnvRef(KEY_VAR), known_hosts=EnvRef(KNOWN_VAR), partition="debug",
                           account=env.get("MSO_TEST_SLURM_ACCOUNT"), max_parallel=3)
    transport = Counting(Context().transport(infra))
    probe = transport.run("sinfo -h -o %a")
    if probe.code != 0 or "up" not in probe.stdout:
        unavailable(f"the test cluster does not answer: {probe}")
    home = transport.run("echo $HOME").stdout.strip()
    root = PurePosixPath(home) / "mso-it" / secrets.token_hex(4)
    yield transport, infra, root
    listed = transport.run("squeue -h --me -o '%A|%j'").stdout.splitlines()
    left = [ln.split("|")[0] for ln in listed if any(f"mso.{r}." in ln for r in RUNS)]
    transport.run(shlex.join(["scancel", *left]) + f" ; rm -rf {shlex.quote(str(root))}")
    transport.close()


def make_jobs(site, commands: list[str], step: str = "main", walltime: str | None = None,
              start: int = 0) -> list[Job]:
    """Tasks running `sh -c COMMAND`, their work dirs made and wrappers written on the cluster."""
    transport, infra, root = site
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(4)
    RUNS.append(run_id)
    sched = SlurmScheduler(infra, transport)
    jobs = []
    for i, command in enumerate(commands, start):
        task = TaskPlan(id=f"{step}-{i:04d}", step=step, index=i, application="probe@1",
                        infrastructure=infra.name, parameters=freeze({}), argv=("sh", "-c", command),
                        resources=Resources(memory="64M", walltime=walltime))
        job = Job(task, f"mso.{run_id}.{task.id}", root / run_id / task.id)
        path = shlex.quote(f"{job.work_dir}/{script.SCRIPT}")
        transport.run(f"mkdir -p {shlex.quote(str(job.work_dir))}/.mso && cat > {path}",
                      stdin=sched.render(job)).check("writing a wrapper")
        jobs.append(job)
    return jobs


def watch(site, sched: SlurmScheduler, ids: list[str], jobs: list[Job], seconds: float,
          until=lambda st: st.state.terminal) -> dict[str, JobStatus]:
    """Poll until every job meets `until`; each poll is one squeue and at most one sacct."""
    transport = site[0]
    seen: dict[str, JobStatus] = {}
    deadline = time.monotonic() + seconds
    while len(seen) < len(ids):
        before = len(transport.commands)
        got = sched.status({i: j for i, j in zip(ids, jobs) if i not in seen})
        asked = [c.split()[1] for c in transport.commands[before:]]
        assert asked.count("squeue") == 1 and asked.count("sacct") <= 1 and len(asked) <= 2, asked
        seen.update({i: st for i, st in got.items() if until(st)})
        if time.monotonic() > deadline:
            dump = transport.run("squeue; sacct -X -P -S now-1hour -o JobID,JobName,State,ExitCode,Elapsed")
            pytest.fail(f"not all of {ids} reached the state in {seconds} s: {seen}\n{dump.stdout}")
        if len(seen) < len(ids):
            time.sleep(POLL)
    return seen


def cat(site, job: Job, name: str) -> str:
    return site[0].run(f"cat {shlex.quote(str(job.work_dir / name))} 2>/dev/null").stdout.strip()


@pytest.fixture(scope="module")
def walltime_job(site) -> tuple[SlurmScheduler, list[str], list[Job]]:
    """A job over its one-minute limit, submitted first: Slurm takes ~90 s to kill it."""
    jobs = make_jobs(site, ["sleep 600"], step="slow", walltime="00:01:00")
    sched = SlurmScheduler(site[1], site[0])
    return sched, sched.submit(jobs), jobs


def test_array_of_six_runs_each_task_and_reports_a_failure(site, walltime_job) -> None:
    jobs = make_jobs(site, ["echo hello-$0"] * 3 + ["exit 3"] + ["true"] * 2)
    sched = SlurmScheduler(site[1], site[0])
    ids = sched.submit(jobs)
    array_id = ids[0].split("_")[0]
    assert ids == [f"{array_id}_{n}" for n in range(6)]   # one array
    final = watch(site, sched, ids, jobs, 180)
    # slurmctld (squeue --states=all) says FAILED; sacct, later, also the code; the wrapper's
    # file, checked below, always has it
    assert final[ids[3]].state == State.FAILED
    assert final[ids[3]].reason in ("exit code 3", GENERIC_FAILURE)
    assert all(final[i] == JobStatus(State.SUCCEEDED) for n, i in enumerate(ids) if n != 3)
    assert [cat(site, j, script.EXIT) for j in jobs] == ["0", "0", "0", "3", "0", "0"]
    assert cat(site, jobs[0], script.STDOUT) == "hello-sh"


def test_a_job_cancelled_from_outside_is_cancelled(site) -> None:
    jobs = make_jobs(site, ["sleep 300", "sleep 300"])
    sched = SlurmScheduler(site[1], site[0])
    ids = sched.submit(jobs)
    watch(site, sched, ids, jobs, 120, until=lambda st: st.state == State.RUNNING)
    site[0].run(f"scancel {ids[0]}").check("scancel from outside")
    sched.cancel([ids[1]])
    final = watch(site, sched, ids, jobs, 120)
    for job_id in ids:
        assert final[job_id].state == State.CANCELLED
        assert final[job_id].reason.startswith("cancelled by the scheduler or a user")
    # the wrapper was killed with its command, or outlived it by the instant it takes to record
    # the command's SIGTERM (143); the scheduler's verdict above is what counts either way
    assert cat(site, jobs[0], script.EXIT) in ("", "143")


def test_find_adopts_a_submitted_array_by_name(site) -> None:
    jobs = make_jobs(site, ["sleep 3"] * 3)
    ids = SlurmScheduler(site[1], site[0]).submit(jobs)
    names = {j.name: i for j, i in zip(jobs, ids)}
    restarted = SlurmScheduler(site[1], site[0])   # as a runner that died and came back
    assert restarted.find(jobs) == names           # live: from squeue
    watch(site, restarted, ids, jobs, 120)
    assert SlurmScheduler(site[1], site[0]).find(jobs) == names   # finished: from sacct


def test_a_batch_over_max_array_size_becomes_several_arrays(site) -> None:
    transport, infra, root = site
    small = dataclasses.replace(infra, max_array_size=4)
    jobs = make_jobs(site, [f"echo task-{n}" for n in range(6)])
    sched = SlurmScheduler(small, transport)
    ids = sched.submit(jobs)
    first, second = ids[0].split("_")[0], ids[4].split("_")[0]
    assert first != second
    assert ids == [f"{first}_{n}" for n in range(4)] + [f"{second}_0", f"{second}_1"]
    final = watch(site, sched, ids, jobs, 180)
    assert all(st == JobStatus(State.SUCCEEDED) for st in final.values())
    assert [cat(site, j, script.STDOUT) for j in jobs] == [f"task-{n}" for n in range(6)]
    assert SlurmScheduler(small, transport).find(jobs) == {j.name: i for j, i in zip(jobs, ids)}


def test_tasks_beyond_the_sites_max_array_size_go_to_a_second_array(site) -> None:
    transport, infra, _ = site
    limit = int(transport.run("scontrol show config | grep -i MaxArraySize").stdout.split("=")[1])
    jobs = make_jobs(site, [f"echo {n}" for n in range(4)], start=limit - 2)   # indices L-2 .. L+1
    sched = SlurmScheduler(infra, transport)          # MaxArraySize asked of the site
    ids = sched.submit(jobs)
    first, second = ids[0].split("_")[0], ids[2].split("_")[0]
    assert ids == [f"{first}_{limit - 2}", f"{first}_{limit - 1}", f"{second}_0", f"{second}_1"]
    final = watch(site, sched, ids, jobs, 180)
    assert all(st == JobStatus(State.SUCCEEDED) for st in final.values())
    assert [cat(site, j, script.STDOUT) for j in jobs] == ["0", "1", "2", "3"]


def test_a_refused_submission_says_why(site) -> None:
    transport, infra, _ = site
    bad = dataclasses.replace(infra, partition="nosuch")
    jobs = make_jobs(site, ["true"])
    with pytest.raises(SchedulerError) as err:
        SlurmScheduler(bad, transport).submit(jobs)
    assert "sbatch --parsable" in str(err.value) and "invalid partition" in str(err.value).lower()


def test_a_job_over_its_walltime_fails_with_the_reason(site, walltime_job) -> None:
    sched, ids, jobs = walltime_job
    final = watch(site, sched, ids, jobs, 300)
    assert final[ids[0]] == JobStatus(State.FAILED, "walltime exceeded")
    # at the time limit Slurm signals every process of the job at once: the wrapper dies with
    # its command, or records the command's SIGTERM (143) first; the verdict above counts
    assert cat(site, jobs[0], script.EXIT) in ("", "143")
