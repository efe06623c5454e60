"""One watcher for every active run: start ready tasks, ask each scheduler once per poll about all
its jobs, reconcile what ended with the wrapper's files, collect, and save records on change."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

from runner.errors import MsoError, TransportError
from runner.runs import ActiveRun
from runner.schedulers.base import JobStatus, Scheduler
from runner.staging import collect
from runner.state import State, TaskRecord, now

Event = Callable[[ActiveRun, TaskRecord, str], None]
ACTIVE = (State.QUEUED.value, State.RUNNING.value)


class _Timer:
    """When a scheduler is asked next: soon after a change, backing off to its maximum."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, max(low, high)
        self.interval, self.due = low, time.monotonic() + low

    def reset(self, changed: bool) -> None:
        self.interval = self.low if changed else min(self.interval * 2, self.high)
        self.due = time.monotonic() + self.interval * random.uniform(0.9, 1.1)


class Watcher:
    """Every tick: start what is ready and look for wrappers' exit-code files (one cheap command
    per host); ask a scheduler when its timer is due or an exit-code file appeared."""

    def __init__(self, runs: list[ActiveRun], on_event: Event) -> None:
        self.runs, self.on_event = runs, on_event
        self.timers: dict[int, _Timer] = {}
        self.seen_ended: set[tuple[str, str]] = set()
        self.polls = 0                      # status queries, for benchmarks
        self.submits = 0                    # submit calls (one per step batch)
        self.status_commands = 0            # scheduler commands those queries took

    def run(self) -> None:
        """Until every task of every run has ended (or its run is paused)."""
        while not all(_done(r) for r in self.runs):
            any([r.check_cancelled() for r in self.runs])
            self._start_ready()
            for key, (sched, runs) in self._schedulers().items():
                timer = self.timers.setdefault(key, _Timer(sched.infra.poll_min, sched.infra.poll_max))
                fresh = self._new_exit_files(runs)
                if fresh or time.monotonic() >= timer.due:
                    # while a task's wrapper has ended but the scheduler has not said so, ask soon
                    timer.reset(self._poll(sched, runs) or fresh or self._unconfirmed(runs))
            for r in self.runs:
                if r.dirty:
                    r.save()
            if not all(_done(r) for r in self.runs):
                time.sleep(min((s.infra.poll_min for s, _ in self._schedulers().values()), default=0.1))

    def _unconfirmed(self, runs: list[ActiveRun]) -> bool:
        return any((r.record.run_id, t.id) in self.seen_ended
                   for r in runs for t in r.record.tasks if t.state in ACTIVE)

    def _new_exit_files(self, runs: list[ActiveRun]) -> bool:
        """Whether a task's wrapper wrote its exit code since the last look (one check per run)."""
        fresh = False
        for r in runs:
            watched = [t.id for t in r.record.tasks if t.state in ACTIVE]
            if not watched:
                continue
            try:
                ended = r.area.ended(watched)
            except MsoError:
                continue  # the scheduler query will tell, or pause the run
            new = {(r.record.run_id, tid) for tid in ended} - self.seen_ended
            self.seen_ended |= new
            fresh |= bool(new)
        return fresh

    def _schedulers(self) -> dict[int, tuple[Scheduler, list[ActiveRun]]]:
        groups: dict[int, tuple[Scheduler, list[ActiveRun]]] = {}
        for r in self.runs:
            if r.record.state == State.PAUSED.value:
                continue
            groups.setdefault(id(r.scheduler), (r.scheduler, []))[1].append(r)
        return groups

    def _start_ready(self) -> bool:
        """Submit every task whose needs succeeded, within each scheduler's limit."""
        changed = False
        for sched, runs in self._schedulers().values():
            running = sum(1 for r in runs for t in r.record.tasks if t.state in ACTIVE)
            room = (sched.max_parallel or 10**9) - running
            for r in runs:
                ready: dict[str, list[TaskRecord]] = defaultdict(list)
                for t in r.record.tasks:
                    if t.state != State.PENDING.value:
                        continue
                    verdict = _needs(r, t)
                    if verdict == "blocked":
                        t.move(State.CANCELLED, "a task it needs did not succeed")
                        self._changed(r, t, "skipped (a task it needs failed)")
                        changed = True
                    elif verdict == "ready" and room > 0:
                        ready[t.step].append(t)
                        room -= 1
                for batch in ready.values():
                    self._submit(r, batch)
                    changed = True
        return changed

    def _submit(self, r: ActiveRun, batch: list[TaskRecord]) -> None:
        """Submit one step's ready tasks as one batch, adopting any already submitted."""
        jobs = [r.job(t.id) for t in batch]
        try:
            adopted = r.scheduler.find(jobs)
        except MsoError as exc:  # never guess: submitting blind could run a task twice
            self.on_event(r, batch[0], f"warning: cannot look for submitted jobs: {exc}")
            if isinstance(exc, TransportError) and exc.transient:
                self._pause([r], f"{r.scheduler.infra.name} unreachable: {exc}")
            return
        fresh = [(t, j) for t, j in zip(batch, jobs) if j.name not in adopted]
        for t, j in zip(batch, jobs):
            if j.name in adopted:
                self._mark_submitted(r, t, adopted[j.name], "adopted (submitted before the runner stopped)")
        if not fresh:
            return
        try:
            for t, j in fresh:
                self._place_step_inputs(r, j)
            self.submits += 1
            ids = r.scheduler.submit([j for _, j in fresh])
        except (MsoError, OSError) as exc:
            if isinstance(exc, TransportError) and exc.transient:
                self._pause([r], f"{r.scheduler.infra.name} unreachable while submitting: {exc}")
                return
            for t, _ in fresh:
                t.move(State.FAILED, f"could not submit: {exc}")
                self._changed(r, t, f"failed to submit: {exc}")
            return
        for (t, _), job_id in zip(fresh, ids):
            self._mark_submitted(r, t, job_id, "")

    def _place_step_inputs(self, r: ActiveRun, job) -> None:
        for staged in job.task.inputs:
            if staged.step_task:
                r.area.copy(f"{staged.step_task}/{staged.step_path}", f"{job.task.id}/{staged.target}")

    def _mark_submitted(self, r: ActiveRun, t: TaskRecord, job_id: str, note: str) -> None:
        t.job_id, t.submitted = job_id, t.submitted or now()
        t.move(State.RUNNING if r.scheduler.infra.kind == "local" else State.QUEUED)
        self._changed(r, t, note or ("started" if t.state == State.RUNNING.value else f"queued as {job_id}"))

    def _poll(self, sched: Scheduler, runs: list[ActiveRun]) -> bool:
        """One status query for every active job of one scheduler; apply what it says."""
        jobs = {t.job_id: (r, t) for r in runs for t in r.record.tasks
                if t.state in ACTIVE and t.job_id}
        if not jobs:
            return False
        self.polls += 1
        before = sched.transport.commands
        try:
            statuses = sched.status({j: r.job(t.id) for j, (r, t) in jobs.items()})
        except MsoError as exc:  # a failed query is a warning, never a state change
            r, t = next(iter(jobs.values()))
            self.on_event(r, t, f"warning: status query failed: {exc}")
            if isinstance(exc, TransportError) and exc.transient:
                self._pause(runs, f"{sched.infra.name} unreachable: {exc}")
            return False
        self.status_commands += sched.transport.commands - before
        changed = False
        ended: dict[int, list] = defaultdict(list)
        for job_id, st in statuses.items():
            r, t = jobs[job_id]
            if st.state.terminal:
                ended[id(r)].append((r, t, st))
            elif t.move(st.state):
                self._changed(r, t, st.state.value)
                changed = True
        for batch in ended.values():
            self._finish(batch)
            changed = True
        return changed

    def _finish(self, batch: list[tuple[ActiveRun, TaskRecord, JobStatus]]) -> None:
        """Fetch what the ended tasks left (one transfer), reconcile, collect."""
        r = batch[0][0]
        try:
            large = r.area.fetch([r.tasks[t.id] for _, t, _ in batch])
        except MsoError as exc:  # transient: the next poll tries again
            self.on_event(r, batch[0][1], f"warning: fetching results failed: {exc}")
            return
        for _, t, st in batch:
            self._reconcile(r, t, st, large.get(t.id, []))

    def _reconcile(self, r: ActiveRun, t: TaskRecord, st: JobStatus, large: list[dict]) -> None:
        """The scheduler's verdict and the wrapper's exit code must agree for success."""
        work = r.area.stage / t.id
        code = collect.wrapper_files(work).exit_code
        ok = st.state == State.SUCCEEDED and code == 0
        got = collect.collect(r.tasks[t.id], work, r.results / t.id, with_outputs=ok, large=large)
        t.exit_code, t.started, t.ended = got.exit_code, got.started, got.ended
        t.peak_memory_kb, t.outputs = got.peak_memory_kb, got.outputs
        reason = _reason(st, code)
        if ok and (got.missing or got.refused):
            ok, reason = False, _output_problem(got)
        t.move(State.SUCCEEDED if ok else State.FAILED, None if ok else reason)
        self._changed(r, t, "succeeded" if ok else f"failed: {reason}")

    def stats(self) -> dict[str, int]:
        """What watching cost: submissions, status queries, the commands and connections used."""
        transports = {id(r.scheduler.transport): r.scheduler.transport for r in self.runs}
        return {"submit_calls": self.submits, "status_queries": self.polls,
                "status_commands": self.status_commands,
                "connections": sum(t.connections for t in transports.values()),
                "commands": sum(t.commands for t in transports.values())}

    def _pause(self, runs: list[ActiveRun], reason: str) -> None:
        """Stop watching runs whose host cannot be reached; the next `mso run` resumes them."""
        for r in runs:
            r.record.state, r.record.reason = State.PAUSED.value, f"{reason}; `mso run` resumes"
            r.save()
            self.on_event(r, r.record.tasks[0], f"paused: {reason}")

    def _changed(self, r: ActiveRun, t: TaskRecord, text: str) -> None:
        r.dirty = True
        self.on_event(r, t, text)


def _needs(r: ActiveRun, t: TaskRecord) -> str:
    states = [r.record.task(n).state for n in t.needs]
    if any(s in (State.FAILED.value, State.CANCELLED.value) for s in states):
        return "blocked"
    return "ready" if all(s == State.SUCCEEDED.value for s in states) else "wait"


def _done(r: ActiveRun) -> bool:
    """Nothing more to watch: every task ended, or the run is paused."""
    return r.record.state == State.PAUSED.value or all(State(t.state).terminal for t in r.record.tasks)


def _reason(st: JobStatus, code: int | None) -> str | None:
    """Why a task failed, from the scheduler's verdict and the wrapper's exit code, said once."""
    parts = [st.reason] if st.state != State.SUCCEEDED and st.reason else []
    if code is None and not parts:
        parts.append("the job ended but its wrapper recorded no exit code")
    elif code and exit_reason(code) not in parts:
        parts.append(exit_reason(code))
    return "; ".join(parts) or None


def exit_reason(code: int) -> str | None:
    """Why a command with this exit code failed, in words."""
    if code == 0:
        return None
    return {124: "walltime exceeded (killed by the time limit)", 127: "command not found",
            126: "command not executable", 97: "the work dir was missing",
            98: "a module failed to load", 137: "killed (SIGKILL; out of memory or time?)",
            143: "terminated (SIGTERM)"}.get(code, f"exit code {code}")


def _output_problem(got: collect.Collected) -> str:
    if got.refused:
        return f"output {got.refused[0]} points outside the work dir; it was not collected"
    return f"declared output {got.missing[0]!r} was not produced"
