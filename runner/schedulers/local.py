"""The `local` backend: each task is a process on this machine, in its own session so it outlives
the runner; its state is read from the wrapper's files and /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from runner.errors import SchedulerError
from runner.schedulers import script
from runner.schedulers.base import Job, JobStatus, Scheduler
from runner.state import State


class LocalScheduler(Scheduler):
    def __init__(self, infra, transport) -> None:
        super().__init__(infra, transport)
        self._children: dict[str, subprocess.Popen] = {}

    def render(self, job: Job) -> str:
        t = job.task
        return script.render(t, job.work_dir, header=[], environment=dict(self.infra.environment),
                             timeout=t.resources.walltime, label=job.name)

    def submit(self, jobs: list[Job]) -> list[str]:
        return [self._start(job) for job in jobs]

    def _start(self, job: Job) -> str:
        env = dict(os.environ)
        # the runner's own interpreter first: `python` in a command is the one mso runs with
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        try:
            proc = subprocess.Popen(["bash", script.SCRIPT], cwd=job.work_dir, env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            raise SchedulerError(f"cannot start {job.name}: {exc}") from None
        self._children[str(proc.pid)] = proc
        return str(proc.pid)

    def find(self, jobs: list[Job]) -> dict[str, str]:
        # the wrapper writes its pid first thing: no pid file, never started; else running,
        # finished or lost, which status() tells
        found = {}
        for job in jobs:
            try:
                pid = (Path(job.work_dir) / f"{script.META}/pid").read_text().strip()
            except OSError:
                continue
            if pid:
                found[job.name] = pid
        return found

    def status(self, jobs: dict[str, Job]) -> dict[str, JobStatus]:
        out = {}
        for job_id, job in jobs.items():
            child = self._children.get(job_id)
            ours_running = child is not None and child.poll() is None
            if child is not None and not ours_running:
                del self._children[job_id]  # reaped; its files tell how it ended
            if (Path(job.work_dir) / script.EXIT).exists():
                out[job_id] = JobStatus(State.SUCCEEDED)  # ended; the wrapper's files decide
            elif ours_running or _alive(job_id, job):
                out[job_id] = JobStatus(State.RUNNING)
            else:
                out[job_id] = JobStatus(State.FAILED, "the task's process ended without recording "
                                        "an exit code (killed from outside?)")
        return out

    def cancel(self, job_ids: list[str]) -> None:
        # every process of the job's session: `timeout` moves the command to a group of its own
        sessions = {int(j) for j in job_ids if j.isdigit()}
        for pid, sid in _sessions():
            if sid in sessions:
                try:
                    os.kill(pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    pass


def _sessions() -> list[tuple[int, int]]:
    """(pid, session id) of every process."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out.append((int(entry.name), int(fields[3])))
    return out


def _alive(job_id: str, job: Job) -> bool:
    """Whether the pid is still this job's wrapper (pids are reused)."""
    try:
        cmdline = Path(f"/proc/{int(job_id)}/cmdline").read_bytes()
        cwd = os.readlink(f"/proc/{int(job_id)}/cwd")
    except (OSError, ValueError):
        return False
    if b"job.sh" not in cmdline or cwd != str(Path(job.work_dir).resolve()):
        return False
    stat = Path(f"/proc/{int(job_id)}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
