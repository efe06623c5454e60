"""One watcher for every active run: start ready tasks, ask each scheduler once per poll about all
its jobs (of every run), reconcile what ended with the wrapper's files, collect, save on change."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from typing import Callable

from runner.errors import MsoError, TransportError
from runner.monitor import submit
from runner.monitor.reconcile import record_ended
from runner.runs import ActiveRun
from runner.schedulers.base import Scheduler
from runner.state import State, TaskRecord

Event = Callable[[ActiveRun, TaskRecord, str], None]
ACTIVE = (State.QUEUED.value, State.RUNNING.value)
Members = list[tuple[ActiveRun, list[TaskRecord]]]


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

    def __init__(self, runs: list[ActiveRun], on_event: Event,
                 on_tick: Callable[[int], bool] | None = None) -> None:
        """`on_tick(submit_calls)` runs after every tick with that tick's submit calls; when it
        returns False the watcher stops, leaving unfinished runs as they are."""
        self.runs, self.on_event, self.on_tick = runs, on_event, on_tick
        self.timers: dict[int, _Timer] = {}
        self.seen_ended: set[tuple[str, str]] = set()
        self.polls = 0                      # status queries (for benchmarks)
        self.submits = 0                    # submit calls: one per step batch
        self.status_commands = 0            # scheduler commands those queries took

    def run(self) -> None:
        """Until every task of every run has ended (or its run is paused)."""
        while not all(_done(r) for r in self.runs):
            for r in self.runs:
                r.check_cancelled()
            submitted = submit.start_ready(self.groups(), self.changed, self.pause)
            self.submits += submitted
            for sched, members in self.groups().values():
                timer = self.timers.setdefault(id(sched), _Timer(sched.infra.poll_min,
                                                                 sched.infra.poll_max))
                fresh = self._new_exit_files(members)
                if fresh or time.monotonic() >= timer.due:
                    # while a wrapper has ended but the scheduler has not said so, ask soon
                    timer.reset(self._poll(sched, members) or fresh or self._unconfirmed(members))
            for r in self.runs:
                if r.dirty:
                    r.save()
            if self.on_tick is not None and not self.on_tick(submitted):
                return
            if not all(_done(r) for r in self.runs):
                time.sleep(min((s.infra.poll_min for s, _ in self.groups().values()), default=0.1))

    def groups(self) -> dict[int, tuple[Scheduler, Members]]:
        """Per scheduler, the runs with tasks there and those tasks (paused runs left out)."""
        out: dict[int, tuple[Scheduler, Members]] = {}
        for r in self.runs:
            if r.record.state == State.PAUSED.value:
                continue
            for name, place in r.places.items():
                tasks = r.tasks_on(name)
                if tasks:
                    out.setdefault(id(place.scheduler), (place.scheduler, []))[1].append((r, tasks))
        return out

    def _unconfirmed(self, members: Members) -> bool:
        return any((r.record.run_id, t.id) in self.seen_ended
                   for r, tasks in members for t in tasks if t.state in ACTIVE)

    def _new_exit_files(self, members: Members) -> bool:
        """Whether a task's wrapper wrote its exit code since the last look (one check per run)."""
        fresh = False
        for r, tasks in members:
            watched = [t.id for t in tasks if t.state in ACTIVE]
            if not watched:
                continue
            try:
                ended = r.place(watched[0]).area.ended(watched)
            except MsoError:
                continue  # the scheduler query will tell, or pause the run
            new = {(r.record.run_id, tid) for tid in ended} - self.seen_ended
            self.seen_ended |= new
            fresh |= bool(new)
        return fresh

    def _poll(self, sched: Scheduler, members: Members) -> bool:
        """One status query for every active job at one scheduler; apply what it says."""
        jobs = {t.job_id: (r, t) for r, tasks in members for t in tasks
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
                self.pause([r for r, _ in members], f"{sched.infra.name} unreachable: {exc}")
            return False
        self.status_commands += sched.transport.commands - before
        changed = False
        ended: dict[int, list] = defaultdict(list)
        for job_id, st in statuses.items():
            r, t = jobs[job_id]
            if st.state.terminal:
                ended[id(r)].append((t, st))
            elif t.move(st.state):
                self.changed(r, t, st.state.value)
                changed = True
        for batch in ended.values():
            r = jobs[batch[0][0].job_id][0]
            record_ended(r, batch, self.changed, self.on_event)
            changed = True
        return changed

    def stats(self) -> dict[str, int]:
        """What watching cost: submissions, status queries, the commands and connections used."""
        transports = {id(p.scheduler.transport): p.scheduler.transport
                      for r in self.runs for p in r.places.values()}
        return {"submit_calls": self.submits, "status_queries": self.polls,
                "status_commands": self.status_commands,
                "connections": sum(t.connections for t in transports.values()),
                "commands": sum(t.commands for t in transports.values())}

    def pause(self, runs: list[ActiveRun], reason: str) -> None:
        """Stop watching runs whose host cannot be reached; the next `mso run` resumes them."""
        for r in runs:
            r.pause(f"{reason}; `mso run` resumes")
            self.on_event(r, r.record.tasks[0], f"paused: {reason}")

    def changed(self, r: ActiveRun, t: TaskRecord, text: str) -> None:
        r.dirty = True
        self.on_event(r, t, text)


def _done(r: ActiveRun) -> bool:
    """Nothing more to watch: every task ended, or the run is paused."""
    return r.record.state == State.PAUSED.value or r.finished
