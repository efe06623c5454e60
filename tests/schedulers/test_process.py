"""The process backend (`local`/`ssh` hosts without a scheduler) against real processes on this
machine: submit, adopt by name, RUNNING while the launcher lives and ENDED after, whatever the
wrapper's exit-code file says, a cancel that ends every process of the task, and on `local` a PID
namespace per task: it sees only its own processes, and a host that cannot make one refuses to
start the task."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator, TypeVar

import pytest

from runner.declarations.models import Infrastructure, Resources, freeze
from runner.errors import SchedulerError
from runner.plan.resolve import TaskPlan
from runner.schedulers import process, script
from runner.schedulers.base import ENDED, Job, JobStatus
from runner.schedulers.process import ProcessScheduler
from runner.state import State
from runner.transports.local import LocalTransport

RUN = "20261125T150000Z-abcdef12"
RUNNING = JobStatus(State.RUNNING)
T = TypeVar("T")

# Waits for a file named `go` in its work dir, then exits 3: it runs exactly as long as a test wants.
WAIT_FOR_GO = ("sh", "-c", "while [ ! -e go ]; do sleep 0.05; done; exit 3")


def until(check: Callable[[], T], what: str, seconds: float = 20) -> T:
    """Poll until `check` returns something true; fail saying what never happened."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what}")
        time.sleep(0.05)
    return value


def stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (state, ppid, pgrp, session, ...); None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def host_pid(job_id: str) -> int:
    """The launcher's host pid in a job id `PID@START`."""
    return int(job_id.split("@")[0])


def in_folder(folder: PurePosixPath) -> dict[int, str]:
    """The live processes whose working folder is `folder` (a task's are all there), by host pid."""
    out = {}
    for entry in Path("/proc").iterdir():
        fields = stat(int(entry.name)) if entry.name.isdigit() else None
        try:
            if fields and fields[0] != "Z" and os.path.samefile(entry / "cwd", folder):
                out[int(entry.name)] = (entry / "cmdline").read_text().replace("\0", " ").strip()
        except OSError:
            pass
    return out


def session(sid: int) -> dict[int, str]:
    """The live (not zombie) processes of a session, with their command lines."""
    out = {}
    for entry in Path("/proc").iterdir():
        fields = stat(int(entry.name)) if entry.name.isdigit() else None
        if fields and fields[0] != "Z" and int(fields[3]) == sid:
            try:
                out[int(entry.name)] = (entry / "cmdline").read_text().replace("\0", " ").strip()
            except OSError:
                pass
    return out


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[ProcessScheduler, Callable[..., Job]]]:
    """A process backend on this machine, and a maker of jobs whose wrappers are in place."""
    infra = Infrastructure(name="local", kind="local")
    sched = ProcessScheduler(infra, LocalTransport())
    made: list[Job] = []

    def make(index: int, argv: tuple[str, ...], walltime: str | None = None) -> Job:
        task = TaskPlan(id=f"main-{index:04d}", step="main", index=index, application="probe@1",
                        infrastructure="local", parameters=freeze({}), argv=argv,
                        resources=Resources(walltime=walltime))
        work = tmp_path / RUN / task.id
        (work / script.META).mkdir(parents=True)
        job = Job(task, f"mso.{RUN}.{task.id}", PurePosixPath(work))
        (work / script.SCRIPT).write_text(sched.render(job))
        made.append(job)
        return job

    yield sched, make
    sched.cancel(list(sched.find(made).values()))   # whatever a failed test left running


def test_a_task_runs_is_adopted_by_name_and_ends(local) -> None:
    sched, make = local
    first, second = make(0, WAIT_FOR_GO), make(1, WAIT_FOR_GO)
    pids = sched.submit([first, second])
    restarted = ProcessScheduler(sched.infra, LocalTransport())   # as a runner that died and came back
    names = {first.name: pids[0], second.name: pids[1]}
    assert until(lambda: (found := restarted.find([first, second])) == names and found,
                 "both wrappers to write their pid") == names

    by_id = {pids[0]: first, pids[1]: second}
    assert sched.status(by_id) == {pids[0]: RUNNING, pids[1]: RUNNING}
    # a pid is the job's only if it runs job.sh in the job's own folder: the other task's wrapper
    # is not it, nor is this test (pids are reused)
    assert sched.status({pids[0]: second, str(os.getpid()): first}) == {pids[0]: ENDED, str(os.getpid()): ENDED}

    exit_file = Path(first.work_dir) / script.EXIT
    exit_file.write_text("0\n")   # an exit code it did not write: status must not believe it
    assert sched.status({pids[0]: first}) == {pids[0]: RUNNING}

    (Path(second.work_dir) / "go").touch()
    until(lambda: sched.status(by_id)[pids[1]] == ENDED, "the second task to end")
    assert sched.status(by_id)[pids[0]] == RUNNING
    assert (Path(second.work_dir) / script.EXIT).read_text().strip() == "3"   # for the caller to read
    (Path(second.work_dir) / script.EXIT).unlink()
    assert sched.status(by_id)[pids[1]] == ENDED   # with or without the file

    (Path(first.work_dir) / "go").touch()
    until(lambda: sched.status(by_id) == {pids[0]: ENDED, pids[1]: ENDED}, "the first task to end")


def test_cancel_ends_the_tasks_whole_session(local) -> None:
    sched, make = local
    job = make(0, ("sleep", "300"), walltime="00:10:00")   # `timeout` puts sleep in a group of its own
    (job_id,) = sched.submit([job])
    pid = host_pid(job_id)
    members = until(lambda: (m := session(pid)) and any(c == "sleep 300" for c in m.values()) and m,
                    "the task's command to start")
    assert pid in members and len(members) >= 3   # the wrapper, timeout, sleep (and GNU time)
    assert sched.status({job_id: job}) == {job_id: RUNNING}

    sched.cancel([job_id])
    until(lambda: not session(pid), f"every process of session {pid} to end: {session(pid)}")
    assert sched.status({job_id: job}) == {job_id: ENDED}
    assert not (Path(job.work_dir) / script.EXIT).exists()   # killed before it could record one


def test_cancel_ends_processes_that_left_the_session(local) -> None:
    """A task's daemon (setsid) is outside the launcher's session but inside the namespace: when
    the namespace's first process dies, the kernel ends it too."""
    sched, make = local
    job = make(0, ("sh", "-c", "setsid sleep 300 </dev/null >/dev/null 2>&1 & exec sleep 300"))
    (pid,) = sched.submit([job])
    members = until(lambda: (m := in_folder(job.work_dir)) and
                    sum(c == "sleep 300" for c in m.values()) == 2 and m, "both sleeps to start")
    assert not set(members) <= set(session(host_pid(pid)))   # one of them left the session
    sched.cancel([pid])
    until(lambda: not in_folder(job.work_dir), f"every process of the task to end: {in_folder(job.work_dir)}")
    assert sched.status({pid: job}) == {pid: ENDED}


def test_a_local_task_sees_only_its_own_processes(local) -> None:
    """In its PID namespace a task sees its wrapper and its own commands, under small pids: not
    the runner, not the launcher, not the shell that started the runner."""
    sched, make = local
    job = make(0, ("sh", "-c", f"ls /proc | grep '^[0-9]' > seen; cat /proc/{os.getpid()}/environ > "
                               "environ 2>&1; echo $$ > mine"))
    (pid,) = sched.submit([job])
    until(lambda: sched.status({pid: job}) == {pid: ENDED}, "the task to end")
    work = Path(job.work_dir)
    seen = (work / "seen").read_text().split()
    assert 1 <= len(seen) <= 8 and all(int(p) < 100 for p in seen), seen
    assert str(os.getpid()) not in seen and str(host_pid(pid)) not in seen and str(os.getppid()) not in seen
    assert "No such file" in (work / "environ").read_text()      # the runner's environment
    assert int((work / "mine").read_text()) < 100                # a pid of the namespace
    assert (work / script.EXIT).read_text().strip() == "0"
    assert (work / process.PID).read_text().strip() == pid       # the host's pid@start, not $$


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to become nobody")
def test_an_ordinary_user_gets_a_namespace_it_cannot_undo() -> None:
    """As an ordinary user the first launcher is refused and the user-namespace one is taken; mapped
    to itself, the task has no capability to unmount its /proc and uncover the host's."""
    probe = "umount /proc 2>/dev/null; ls /proc | grep -c '^[0-9]'"
    shell = f"{process.launcher_command()} ; echo $launch; $launch sh -c {shlex.quote(probe)}"
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          "bash", "-c", shell], capture_output=True, text=True, cwd="/", timeout=30)
    assert out.returncode == 0, out.stderr
    launcher, count = out.stdout.splitlines()
    assert launcher == process.LAUNCHERS[1] and int(count) <= 5, out.stdout


@pytest.mark.parametrize("unshare", ["missing", "refused"])
def test_a_host_without_namespaces_starts_no_task(local, tmp_path: Path, unshare: str) -> None:
    """Without unshare, or where namespaces are forbidden, submission fails saying what to install
    or enable, and nothing starts: a local task never runs unisolated."""
    sched, make = local
    job = make(0, ("touch", "ran"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bash").symlink_to(shutil.which("bash"))
    path = str(bin_dir)
    if unshare == "refused":
        (bin_dir / "unshare").write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n")
        (bin_dir / "unshare").chmod(0o755)
        path += os.pathsep + os.environ["PATH"]
    denied = ProcessScheduler(sched.infra, LocalTransport(env={"PATH": path}))
    said = "Operation not permitted" if unshare == "refused" else "unshare: command not found"
    with pytest.raises(SchedulerError, match=f"PID namespace(.|\n)*{said}(.|\n)*apt-get install util-linux"):
        denied.submit([job])
    time.sleep(0.2)
    assert not any((Path(job.work_dir) / f).exists() for f in ("ran", script.STARTED, process.PID))


def test_ssh_tasks_start_without_a_namespace() -> None:
    """An ssh host is another machine, where no process holds mso's secrets (process.py says why)."""
    job = Job(TaskPlan(id="main-0000", step="main", index=0, application="a@1", infrastructure="hpc",
                       parameters=freeze({}), argv=("true",)), f"mso.{RUN}.main-0000", PurePosixPath("/w"))
    assert not process.isolated(Infrastructure(name="hpc", kind="ssh", host="hpc"))
    assert process.isolated(Infrastructure(name="local", kind="local"))
    assert "unshare" not in process.submit_command([job], isolated=False)
    assert "pkill -TERM -s 42" in process.cancel_command(["42@7"], isolated=False)
    assert "unshare" in process.submit_command([job], isolated=True)


def test_cancel_of_ended_or_unknown_jobs_is_quiet(local) -> None:
    sched, _ = local
    sched.cancel(["999999999", "not-a-pid"])
    assert sched.status({}) == {}


def start_time(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot."""
    return stat(pid)[19]


def test_a_job_id_names_the_process_by_pid_and_start_time(local) -> None:
    """`PID@START`: the submitting shell read the launcher's start time; a process that holds the
    pid but started at another time (the pid reused) is neither running the job nor signalled."""
    sched, make = local
    job = make(0, WAIT_FOR_GO)
    (job_id,) = sched.submit([job])
    pid, start = job_id.split("@")
    assert start == start_time(int(pid))
    reused = f"{pid}@{int(start) + 1}"   # as the same pid with another process behind it
    assert sched.status({reused: job}) == {reused: ENDED}
    sched.cancel([reused])
    time.sleep(0.3)
    assert sched.status({job_id: job}) == {job_id: RUNNING}, "a reused pid is not signalled"
    sched.cancel([job_id])
    until(lambda: sched.status({job_id: job}) == {job_id: ENDED}, "the task to end")


def test_a_reused_pid_of_another_program_is_left_alone(local, tmp_path: Path) -> None:
    """A record's pid now held by some other process, whether the record has its start time or
    is a plain pid written before start times were recorded: cancel leaves that process be."""
    sched, _ = local
    other = subprocess.Popen(["sleep", "300"], cwd=tmp_path, start_new_session=True)
    try:
        until(lambda: stat(other.pid), "sleep to start")
        sched.cancel([str(other.pid), f"{other.pid}@{int(start_time(other.pid)) - 1}"])
        time.sleep(0.3)
        assert other.poll() is None, "a process that is no task's was signalled"
        sched.cancel([f"{other.pid}@{start_time(other.pid)}"])   # its true identity: ended
        until(lambda: other.poll() is not None, "the process named by pid and start time to end")
    finally:
        other.kill()
        other.wait()


def test_a_plain_pid_from_an_older_record_still_works(local) -> None:
    """Records written before start times (job id: the pid alone, `.mso/pid` holding it) load,
    are watched and cancelled as the task they name: its launcher runs job.sh in a folder whose
    .mso/pid holds that very pid."""
    sched, make = local
    job = make(0, WAIT_FOR_GO)
    (job_id,) = sched.submit([job])
    plain = job_id.split("@")[0]
    assert sched.status({plain: job}) == {plain: RUNNING}
    sched.cancel([plain])   # .mso/pid says pid@start: not an older task's folder, left alone
    time.sleep(0.3)
    assert sched.status({job_id: job}) == {job_id: RUNNING}
    (Path(job.work_dir) / process.PID).write_text(plain + "\n")   # as today's main wrote it
    assert sched.find([job]) == {job.name: plain}
    sched.cancel([plain])
    until(lambda: sched.status({plain: job}) == {plain: ENDED}, "the older task to end")


def test_job_ids_parsed() -> None:
    assert process.identity("4242@991") == ("4242", "991")
    assert process.identity("4242") == ("4242", None)
    assert process.identity("4242@") is None and process.identity("x@1") is None
    assert process.identity("12_3") is None and process.identity("") is None
    command = process.cancel_command(["42@7", "43", "rm -rf /"], isolated=True)
    assert '[ "$(mso_start 42)" = 7 ] && pkill -KILL -s 42' in command
    assert "/proc/43/cwd/.mso/pid" in command and "rm" not in command


# ---- parsers ---------------------------------------------------------------------------------

def test_parse_status() -> None:
    got = process.parse_status("12 running\n13 ended\n14 confused\n\n")
    assert got == {"12": RUNNING, "13": ENDED}
    assert got["13"].state is None and got["13"].ended


def test_parse_submit_wants_one_pid_per_job() -> None:
    assert process.parse_submit("101@5501\n102\n", 2) == ["101@5501", "102"]
    with pytest.raises(SchedulerError, match="started 2 tasks but got 1"):
        process.parse_submit("101@\n102@x\n103@9\n", 2)
    with pytest.raises(SchedulerError, match="started 2 tasks but got 1"):
        process.parse_submit("101\n", 2)


def test_parse_find_takes_only_the_jobs_asked_for() -> None:
    job = Job(TaskPlan(id="main-0000", step="main", index=0, application="a@1", infrastructure="local",
                       parameters=freeze({}), argv=("true",)), f"mso.{RUN}.main-0000", PurePosixPath("/w"))
    text = f"mso.{RUN}.main-0000\t4242\nmso.other\t1\nmso.{RUN}.main-0001\t\n"
    assert process.parse_find(text, [job]) == {job.name: "4242"}
