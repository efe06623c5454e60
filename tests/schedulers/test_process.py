"""The process backend (`local`/`ssh` hosts without a scheduler) against real processes on this
machine: submit, adopt by name, RUNNING while the wrapper lives and ENDED after, whatever the
wrapper's exit-code file says, and a cancel that ends the task's whole session."""

from __future__ import annotations

import os
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
    (pid,) = sched.submit([job])
    members = until(lambda: (m := session(int(pid))) and any(c == "sleep 300" for c in m.values()) and m,
                    "the task's command to start")
    assert int(pid) in members and len(members) >= 3   # the wrapper, timeout, sleep (and GNU time)
    assert sched.status({pid: job}) == {pid: RUNNING}

    sched.cancel([pid])
    until(lambda: not session(int(pid)), f"every process of session {pid} to end: {session(int(pid))}")
    assert sched.status({pid: job}) == {pid: ENDED}
    assert not (Path(job.work_dir) / script.EXIT).exists()   # killed before it could record one


def test_cancel_of_ended_or_unknown_jobs_is_quiet(local) -> None:
    sched, _ = local
    sched.cancel(["999999999", "not-a-pid"])
    assert sched.status({}) == {}


# ---- parsers ---------------------------------------------------------------------------------

def test_parse_status() -> None:
    got = process.parse_status("12 running\n13 ended\n14 confused\n\n")
    assert got == {"12": RUNNING, "13": ENDED}
    assert got["13"].state is None and got["13"].ended


def test_parse_submit_wants_one_pid_per_job() -> None:
    assert process.parse_submit("101\n102\n", 2) == ["101", "102"]
    with pytest.raises(SchedulerError, match="started 2 tasks but got 1"):
        process.parse_submit("101\n", 2)


def test_parse_find_takes_only_the_jobs_asked_for() -> None:
    job = Job(TaskPlan(id="main-0000", step="main", index=0, application="a@1", infrastructure="local",
                       parameters=freeze({}), argv=("true",)), f"mso.{RUN}.main-0000", PurePosixPath("/w"))
    text = f"mso.{RUN}.main-0000\t4242\nmso.other\t1\nmso.{RUN}.main-0001\t\n"
    assert process.parse_find(text, [job]) == {job.name: "4242"}
