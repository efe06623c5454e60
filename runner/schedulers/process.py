"""Hosts without a scheduler (`local`, `ssh`): each task is a detached process in its own session,
so it outlives the runner. Its state is the process table's only: RUNNING while its wrapper lives,
else ended (`ENDED`); how it ended is the wrapper's exit-code file, which the caller reads.

Every operation is one shell command for all jobs (built here) and a pure parser of its output.
"""

from __future__ import annotations

import shlex

from runner.errors import SchedulerError
from runner.schedulers import script
from runner.schedulers.base import ENDED, Job, JobStatus, Scheduler
from runner.state import State


class ProcessScheduler(Scheduler):
    """`local` and `ssh` infrastructures: processes started with setsid, watched by pid."""

    def render(self, job: Job) -> str:
        t = job.task
        return script.render(t, job.work_dir, header=[], modules=self.infra.modules,
                             environment=dict(self.infra.environment),
                             timeout=t.resources.walltime, label=job.name)

    def submit(self, jobs: list[Job], after: dict[str, list[str]] | None = None) -> list[str]:
        result = self.transport.run(submit_command(jobs)).check("starting tasks")
        return parse_submit(result.stdout, len(jobs))

    def find(self, jobs: list[Job]) -> dict[str, str]:
        result = self.transport.run(find_command(jobs)).check("looking for started tasks")
        return parse_find(result.stdout, jobs)

    def status(self, jobs: dict[str, Job]) -> dict[str, JobStatus]:
        if not jobs:
            return {}
        result = self.transport.run(status_command(jobs)).check("checking tasks")
        return parse_status(result.stdout)

    def cancel(self, job_ids: list[str]) -> None:
        pids = [j for j in job_ids if j.isdigit()]
        if pids:
            # the whole session: `timeout` moves the command into a process group of its own
            self.transport.run(" ; ".join(f"pkill -TERM -s {p}" for p in pids) + " ; true")


def submit_command(jobs: list[Job]) -> str:
    """Start every job detached in its own session; print one pid a line, in order."""
    q = shlex.quote
    # only setsid goes to the background, with every stream redirected: nothing may hold the
    # transport's pipes open
    return " ; ".join(
        f"cd {q(str(j.work_dir))} && {{ setsid bash {script.SCRIPT} </dev/null >/dev/null 2>&1 & "
        f"echo $!; }}" for j in jobs)


def parse_submit(stdout: str, count: int) -> list[str]:
    """The pids submit_command printed, one per job, or a SchedulerError."""
    pids = [ln.strip() for ln in stdout.splitlines() if ln.strip().isdigit()]
    if len(pids) != count:
        raise SchedulerError(f"started {count} tasks but got {len(pids)} process ids: {stdout!r}")
    return pids


def find_command(jobs: list[Job]) -> str:
    """The pid each job's wrapper wrote first thing (none: never started)."""
    q = shlex.quote
    return " ; ".join(f"printf '%s\\t%s\\n' {q(j.name)} \"$(cat {q(str(j.work_dir))}/{script.META}/pid "
                      "2>/dev/null)\"" for j in jobs)


def parse_find(stdout: str, jobs: list[Job]) -> dict[str, str]:
    """`name<TAB>pid` lines -> pid by job name, for the jobs that wrote one."""
    names = {j.name for j in jobs}
    found = {}
    for line in stdout.splitlines():
        name, _, pid = line.partition("\t")
        if name in names and pid.strip().isdigit():
            found[name] = pid.strip()
    return found


def status_command(jobs: dict[str, Job]) -> str:
    """Per job: `ID running` while its wrapper lives, else `ID ended`. A pid is taken for the
    job's wrapper only when its command line runs job.sh AND its working folder is the job's
    (pids are reused, by other tasks' wrappers too), and it is not a zombie (a dead wrapper
    nobody reaped, as in a container without an init)."""
    q = shlex.quote
    parts = []
    for job_id, j in jobs.items():
        pid = q(job_id)
        parts.append(
            f"if grep -qs job.sh /proc/{pid}/cmdline && [ /proc/{pid}/cwd -ef {q(str(j.work_dir))} ] && "
            f"[ \"$(awk '{{print $3}}' /proc/{pid}/stat 2>/dev/null)\" != Z ]; "
            f"then echo {pid} running; else echo {pid} ended; fi")
    return " ; ".join(parts)


def parse_status(stdout: str) -> dict[str, JobStatus]:
    """`ID running|ended` lines -> RUNNING, or ENDED (how: the wrapper's exit code, not ours)."""
    verdict = {"running": JobStatus(State.RUNNING), "ended": ENDED}
    out = {}
    for line in stdout.splitlines():
        job_id, _, word = line.strip().partition(" ")
        if word in verdict:
            out[job_id] = verdict[word]
    return out
