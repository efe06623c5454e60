"""Hosts without a scheduler (`local`, `ssh`): each task is a detached process in its own session,
so it outlives the runner. Its state is the process table's only: RUNNING while its launcher lives,
else ended (`ENDED`); how it ended is the wrapper's exit-code file, which the caller reads.

On `local` every task starts in a PID namespace of its own with a fresh /proc (util-linux's
`unshare`), so it cannot see the runner, nor the CI job's shell that started it, nor their
environments, which hold the tokens mso keeps from tasks. The launcher (`unshare`, outside the
namespace) waits for the wrapper (the namespace's first process) and takes the whole namespace
down with it (`--kill-child`): its host pid is the task's id, written to `.mso/pid` by the
submitting shell from `$!` (inside the namespace the wrapper's `$$` is 1). Where no namespace can
be made, submission fails: a local task never runs unisolated.

A pid alone does not name a process for long: once the launcher ends, the kernel may give its pid
to any later process. So a job id is `PID@START`, START being the launcher's start time (field 22
of /proc/PID/stat, clock ticks since boot, read by the submitting shell right after `$!`), and
status and cancel act on a pid only while the process holding it started then. A job id of a
plain pid (records written before, or a task that ended before its start time could be read) is
signalled only while that process runs job.sh in a folder whose `.mso/pid` holds that pid alone
(status, as before, wants job.sh running in the job's own folder).

Every operation is one shell command for all jobs (built here) and a pure parser of its output.
"""

from __future__ import annotations

import shlex

from runner.declarations.models import Infrastructure
from runner.errors import SchedulerError
from runner.schedulers import script
from runner.schedulers.base import ENDED, Job, JobStatus, Scheduler
from runner.state import State
from runner.transports.base import Result
from runner.words import plural

PID = f"{script.META}/pid"   # the launcher's host pid, written by the submitting shell

# The launchers tried in turn. As root a PID namespace needs no user namespace (and the task keeps
# root's access to files of every owner); an ordinary user (or a root without CAP_SYS_ADMIN, as in
# a container) needs one. --map-current-user, not --map-root-user: mapped to itself the task has no
# capability after exec, so it cannot `umount /proc` to uncover the host's (as root in its user
# namespace it could), and mpirun, pip and ssh see the user they expect. --propagation slave, not
# unshare's default private: a mount the host makes later (autofs, NFS) still reaches the task,
# while its own /proc stays in its namespace.
NAMESPACE = "--pid --fork --kill-child --mount-proc --propagation slave"
LAUNCHERS = (f"unshare {NAMESPACE}", f"unshare --user --map-current-user {NAMESPACE}")
NO_NAMESPACE = 90   # the submit command's exit code when no launcher works on the host
# A shell function printing a process's start time (nothing once it is gone). The command name,
# field 2, may hold spaces and parentheses: the fields are counted after its last ") ".
START_TIME = ('mso_start() { s=$(cat /proc/"$1"/stat 2>/dev/null) || return 0; '
              's=${s##*") "}; set -- $s; echo "${20}"; }')


class ProcessScheduler(Scheduler):
    """`local` and `ssh` infrastructures: processes started with setsid, watched by pid."""

    def render(self, job: Job) -> str:
        t = job.task
        return script.render(t, job.work_dir, header=[], modules=self.infra.modules,
                             environment=dict(self.infra.environment),
                             timeout=t.resources.walltime, label=job.name, image=job.image)

    def submit(self, jobs: list[Job], after: dict[str, list[str]] | None = None) -> list[str]:
        result = self.transport.run(submit_command(jobs, isolated(self.infra)))
        check_namespace(result, self.infra.name)
        return parse_submit(result.check("starting tasks").stdout, len(jobs))

    def find(self, jobs: list[Job]) -> dict[str, str]:
        result = self.transport.run(find_command(jobs)).check("looking for started tasks")
        return parse_find(result.stdout, jobs)

    def status(self, jobs: dict[str, Job]) -> dict[str, JobStatus]:
        if not jobs:
            return {}
        result = self.transport.run(status_command(jobs)).check("checking tasks")
        return parse_status(result.stdout)

    def cancel(self, job_ids: list[str]) -> None:
        ids = [j for j in job_ids if identity(j)]
        if ids:
            self.transport.run(cancel_command(ids, isolated(self.infra)))


def identity(job_id: str) -> tuple[str, str | None] | None:
    """(pid, start time) of a job id `PID@START`; (pid, None) of a plain pid (written before
    start times were recorded); None of anything else."""
    pid, at, start = job_id.partition("@")
    if not pid.isdigit() or (at and not start.isdigit()):
        return None
    return pid, start or None


def same_process(job_id: str) -> str:
    """A shell test (START_TIME defined) that the job's pid still names the job's process: it
    started at the recorded time; for a plain pid, it runs job.sh in a folder whose `.mso/pid`
    holds that pid (a later task's launcher has `PID@START` there)."""
    pid, start = identity(job_id) or ("0", "0")
    if start:
        return f'[ "$(mso_start {pid})" = {start} ]'
    return (f"grep -qs job.sh /proc/{pid}/cmdline && "
            f'[ "$(cat /proc/{pid}/cwd/{PID} 2>/dev/null)" = {pid} ]')


def isolated(infra: Infrastructure) -> bool:
    """Whether tasks start in a PID namespace of their own: on `local` only. An `ssh` host is
    another machine: mso does not run there, so no process on it holds mso's secrets (the
    connection's own sshd and shell were started without them); its tasks start as before.
    (An `ssh` infrastructure that points back at mso's own machine would undo this: don't.)"""
    return infra.kind == "local"


def submit_command(jobs: list[Job], isolated: bool) -> str:
    """Start every job detached in its own session (in a PID namespace of its own when
    `isolated`); print one job id (`PID@START`) a line, in order, and write each to the job's
    `.mso/pid`."""
    q = shlex.quote
    # only setsid goes to the background, with every stream redirected: nothing may hold the
    # transport's pipes open. $! is setsid's pid, which execs unshare (or bash) in place: an
    # exec keeps the start time. A task that already ended has none to read: its id is the pid.
    # The id is written to .mso/pid before it is printed: a runner killed meanwhile (its pipe
    # gone) still finds it there, and adopts the task instead of starting it again.
    start = "setsid $launch" if isolated else "setsid"
    starts = " ; ".join(
        f"cd {q(str(j.work_dir))} && {{ {start} bash {script.SCRIPT} </dev/null >/dev/null 2>&1 & "
        f'p=$!; s=$(mso_start $p); i=$p${{s:+@$s}}; echo $i > {PID}.tmp && mv {PID}.tmp {PID}; '
        f"echo $i; }}"
        for j in jobs)
    return f"{START_TIME} ; {launcher_command()} ; {starts}" if isolated else \
        f"{START_TIME} ; {starts}"


def launcher_command() -> str:
    """Set $launch to the first launcher that works here; else repeat the last one's complaint
    on stderr and exit NO_NAMESPACE, before any task starts."""
    tries = " ".join(shlex.quote(launcher) for launcher in LAUNCHERS)
    return (f"launch= ; for l in {tries}; do if $l true 2>/dev/null; then launch=$l; break; fi; "
            f"done ; [ -n \"$launch\" ] || {{ $l true; exit {NO_NAMESPACE}; }}")


def check_namespace(result: Result, infra: str) -> None:
    """A SchedulerError saying what to install or enable when no PID namespace could be made."""
    if result.code != NO_NAMESPACE:
        return
    said = result.stderr.strip().splitlines()[-1:] or ["(nothing)"]
    raise SchedulerError(
        f"infrastructure '{infra}': cannot start tasks in a PID namespace of their own, and mso "
        f"never starts a local task without one (it could read the runner's tokens in /proc); "
        f"unshare said: {said[0]}\n"
        "  install util-linux's unshare (Debian, Ubuntu: apt-get install util-linux; Alpine: "
        "apk add util-linux-misc) and allow user namespaces (sysctl user.max_user_namespaces "
        "above 0; Debian before 11: kernel.unprivileged_userns_clone=1; Ubuntu 24.04: "
        "kernel.apparmor_restrict_unprivileged_userns=0); in a container, whose masked /proc "
        "cannot be mounted again, make it privileged (a GitLab runner's Docker executor: "
        "privileged = true) or unmask /proc (podman run --security-opt unmask=/proc/*), "
        "or use a shell runner")


def cancel_command(job_ids: list[str], isolated: bool) -> str:
    """End every process of each task whose pid still names it (same_process). In a namespace:
    SIGKILL to its session, for the launcher blocks SIGTERM and the wrapper, the namespace's first
    process, ignores any signal but SIGKILL sent from outside; once it dies the kernel kills every
    process left in the namespace, even those that left the session. Without: SIGTERM to the
    session (`timeout` moves the command into a process group of its own)."""
    signal = "KILL" if isolated else "TERM"
    kills = " ; ".join(f"{{ {same_process(j)} && pkill -{signal} -s {identity(j)[0]}; }}"
                       for j in job_ids if identity(j))
    return f"{START_TIME} ; {kills} ; true"


def parse_submit(stdout: str, count: int) -> list[str]:
    """The job ids submit_command printed, one per job, or a SchedulerError."""
    ids = [ln.strip() for ln in stdout.splitlines() if identity(ln.strip())]
    if len(ids) != count:
        raise SchedulerError(f"started {plural(count, 'task')} but got "
                             f"{plural(len(ids), 'process id')}: {stdout!r}")
    return ids


def find_command(jobs: list[Job]) -> str:
    """The job id the submitting shell wrote for each job (none: never started)."""
    q = shlex.quote
    return " ; ".join(f"printf '%s\\t%s\\n' {q(j.name)} \"$(cat {q(str(j.work_dir))}/{PID} "
                      "2>/dev/null)\"" for j in jobs)


def parse_find(stdout: str, jobs: list[Job]) -> dict[str, str]:
    """`name<TAB>job id` lines -> job id by job name, for the jobs that wrote one."""
    names = {j.name for j in jobs}
    found = {}
    for line in stdout.splitlines():
        name, _, job_id = line.partition("\t")
        if name in names and identity(job_id.strip()):
            found[name] = job_id.strip()
    return found


def status_command(jobs: dict[str, Job]) -> str:
    """Per job: `ID running` while its launcher lives, else `ID ended`. The launcher (unshare,
    or on `ssh` the wrapper itself) lives exactly as long as the wrapper. A pid is taken for the
    job's only when the process started at the recorded time (if recorded), its command line
    runs job.sh AND its working folder is the job's (pids are reused, by other tasks' launchers
    too; the folder makes a plain pid safe here), and it is not a zombie (a dead launcher nobody reaped, as in a container without an
    init). An id that is no job id of this backend has ended."""
    q = shlex.quote
    parts = []
    for job_id, j in jobs.items():
        if not identity(job_id):
            parts.append(f"echo {q(job_id)} ended")
            continue
        pid, start = identity(job_id)
        started = f'[ "$(mso_start {pid})" = {start} ] && ' if start else ""
        parts.append(
            f"if {started}grep -qs job.sh /proc/{pid}/cmdline && "
            f"[ /proc/{pid}/cwd -ef {q(str(j.work_dir))} ] && "
            f"[ \"$(awk '{{print $3}}' /proc/{pid}/stat 2>/dev/null)\" != Z ]; "
            f"then echo {job_id} running; else echo {job_id} ended; fi")
    return " ; ".join([START_TIME, *parts])


def parse_status(stdout: str) -> dict[str, JobStatus]:
    """`ID running|ended` lines -> RUNNING, or ENDED (how: the wrapper's exit code, not ours)."""
    verdict = {"running": JobStatus(State.RUNNING), "ended": ENDED}
    out = {}
    for line in stdout.splitlines():
        job_id, _, word = line.strip().partition(" ")
        if word in verdict:
            out[job_id] = verdict[word]
    return out
