"""One watcher for every active run: start ready tasks, ask each scheduler once per poll about all
its jobs (of every run, and of every infrastructure on the same login), reconcile what ended
with the wrapper's files, collect, save on change."""

from __future__ import annotations

import random
import time
from typing import Callable

from runner.errors import MsoError, TransportError
from runner.monitor import submit
from runner.monitor.logwatch import LogWatch
from runner.monitor.reconcile import Ended, record_ended
from runner.monitor.submit import Members
from runner.runs import cloudhosts, completion, lifecycle
from runner.runs.active import ActiveRun
from runner.runs.lifecycle import ACTIVE
from runner.schedulers.base import Scheduler


# while every job a scheduler was asked about has ended and only its accounting's record of the
# end is waited for (runner/schedulers/accounting.py's Lagging), it is asked again this soon,
# backing off gently to its usual interval: the record lands a fraction of a second after the
# accounting, not up to a whole poll later (slurmdbd lags 1-4 s here)
SETTLE, SETTLE_BACKOFF = 0.25, 1.25


class _Timer:
    """When a scheduler is asked next: soon after a change, backing off to its maximum."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, max(low, high)
        self.interval, self.due = low, time.monotonic() + low
        self.settling = False

    def reset(self, changed: bool) -> None:
        self.interval = self.low if changed else min(self.interval * 2, self.high)
        self.due = time.monotonic() + self.interval * random.uniform(0.9, 1.1)
        self.settling = False

    def settle(self) -> None:
        """Only the accounting is waited for: soon, then less soon, up to the usual interval."""
        self.interval = min(self.interval * SETTLE_BACKOFF, self.low) if self.settling else min(SETTLE, self.low)
        self.due = time.monotonic() + self.interval
        self.settling = True


class Watcher:
    """Every tick: start what is ready and look for wrappers' exit-code files (one cheap command
    per host); ask a scheduler when its timer is due or an exit-code file appeared."""

    def __init__(self, runs: list[ActiveRun], on_tick: Callable[[int], bool] | None = None) -> None:
        """`on_tick(submit_calls)` runs after every tick with that tick's submit calls; when it
        returns False the watcher stops, leaving unfinished runs as they are."""
        self.runs, self.on_tick = runs, on_tick
        self.timers: dict[tuple, _Timer] = {}   # by (backend, login)
        self.exit_written: set[tuple[str, str]] = set()   # (run id, task id): wrapper is done
        self.polls = 0                      # status queries (for benchmarks)
        self.submits = 0                    # submit calls: one per step batch
        self.last_submits = 0               # ... in the last tick
        self.status_commands = 0            # scheduler commands those queries took
        self.ticks = 0
        self.logs = LogWatch()              # live logs: one read per scheduler per tick

    def run(self) -> None:
        """Until every task of every run has ended (or its run is paused)."""
        while not self.done():
            started = time.monotonic()
            self.tick()
            if self.on_tick is not None and not self.on_tick(self.last_submits):
                return
            if not self.done():
                # ticks start every poll_min (the tick's own time counts), never back to back;
                # sooner while a scheduler's timer settles
                every = min((s.infra.poll_min for s, _ in self.groups().values()), default=0.1)
                every = min([every] + [t.interval for t in self.timers.values() if t.settling])
                time.sleep(max(every / 10, every - (time.monotonic() - started)))

    def done(self) -> bool:
        """Nothing more to watch: every run finished or paused."""
        return all(r.paused or r.finished for r in self.runs)

    def tick(self) -> None:
        """One round: cancellations read, ready tasks started, due schedulers asked, saved."""
        for r in self.runs:
            r.check_cancelled()
            cloudhosts.renew(r)   # a watched run's cloud servers stay its own
        self.last_submits = submit.start_ready(self.groups())
        self.submits += self.last_submits
        self.ticks += 1
        polls: dict[tuple, tuple[Scheduler, Members, bool]] = {}
        for sched, members in self.groups().values():
            self.logs.tick(sched, members)
            fresh = self._new_exit_files(members)
            # infrastructures on one login (two partitions, say) share one query
            key = (type(sched), id(sched.transport))
            first, together, any_fresh = polls.get(key, (sched, [], False))
            polls[key] = (first, together + members, any_fresh or fresh)
        for key, (sched, members, fresh) in polls.items():
            timer = self.timers.setdefault(key, _Timer(sched.infra.poll_min, sched.infra.poll_max))
            # due within half a tick: asked now, not a whole tick late (ticks come every poll_min)
            if fresh or time.monotonic() >= timer.due - min(timer.interval, timer.low) / 2:
                changed, settling = self._poll(sched, members)
                if settling:
                    timer.settle()
                else:   # while a wrapper has ended but the scheduler has not said so, ask soon
                    timer.reset(changed or fresh or self._unconfirmed(members))
        for r in self.runs:
            if r.dirty:
                r.save()

    def groups(self) -> dict[int, tuple[Scheduler, Members]]:
        """Per scheduler, the runs with tasks there and those tasks (paused runs left out)."""
        out: dict[int, tuple[Scheduler, Members]] = {}
        for r in self.runs:
            if r.paused:
                continue
            for name, place in r.places.items():
                tasks = r.tasks_on(name)
                if tasks:
                    out.setdefault(id(place.scheduler), (place.scheduler, []))[1].append((r, tasks))
        return out

    def _unconfirmed(self, members: Members) -> bool:
        return any((r.record.run_id, t.id) in self.exit_written
                   for r, tasks in members for t in tasks if t.state in ACTIVE)

    def _new_exit_files(self, members: Members) -> bool:
        """Whether a task's wrapper wrote its exit code since the last look (one check per run)."""
        fresh = False
        for r, tasks in members:
            watched = [t.id for t in tasks if t.state in ACTIVE]
            if not watched:
                continue
            try:
                written = r.place(watched[0]).area.ended(watched)
            except MsoError:
                continue  # the scheduler query will tell, or pause the run
            new = {(r.record.run_id, tid) for tid in written} - self.exit_written
            self.exit_written |= new
            fresh |= bool(new)
        return fresh

    def _poll(self, sched: Scheduler, members: Members) -> tuple[bool, bool]:
        """One status query for every active job at one scheduler; apply what it says. Whether
        anything changed, and whether only the accounting's record of ended jobs is awaited."""
        jobs = {t.job_id: (r, t) for r, tasks in members for t in tasks
                if t.state in ACTIVE and t.job_id}
        if not jobs:
            return False, False
        self.polls += 1
        before = sched.transport.commands
        try:
            statuses = _status(sched, {j: r.job(t.id) for j, (r, t) in jobs.items()})
        except MsoError as exc:  # a failed query is a warning, never a state change
            r, t = next(iter(jobs.values()))
            r.warn(t, f"status query failed: {exc}")
            if isinstance(exc, TransportError) and exc.transient:
                for run in {id(m): m for m, _ in members}.values():
                    lifecycle.pause(run, f"{sched.infra.name} unreachable: {exc}; `mso run` resumes")
            return False, False
        self.status_commands += sched.transport.commands - before
        return self._apply(jobs, statuses)

    def _apply(self, jobs: dict, statuses: dict) -> tuple[bool, bool]:
        """Move what progressed; reconcile what ended, one batch per run. Whether anything
        changed, and whether every job not recorded now has ended in the scheduler's eyes but
        not yet in its accounting's."""
        changed, lagging = False, 0
        ended: dict[int, tuple[ActiveRun, Ended]] = {}
        for job_id, (r, t) in jobs.items():
            seen = statuses.get(job_id)
            if completion.ended(seen, (r.record.run_id, t.id) in self.exit_written):
                ended.setdefault(id(r), (r, []))[1].append((t, seen))
            elif seen is not None:
                changed |= lifecycle.progressed(r, t, seen.state)
                lagging += seen.ended   # ended, but the accounting does not say so yet
        recorded = sum(len(batch) for _, batch in ended.values())
        for r, batch in ended.values():
            record_ended(r, batch)
            changed = True
        return changed, lagging > 0 and lagging + recorded == len(jobs)

    def stats(self) -> dict[str, int]:
        """What watching cost: submissions, status queries, the commands and connections used."""
        transports = {id(p.scheduler.transport): p.scheduler.transport
                      for r in self.runs for p in r.places.values()}
        return {"submit_calls": self.submits, "status_queries": self.polls,
                "status_commands": self.status_commands, "ticks": self.ticks,
                "log_reads": self.logs.reads, "log_commands": self.logs.commands,
                "connections": sum(t.connections for t in transports.values()),
                "commands": sum(t.commands for t in transports.values())}


def _status(sched: Scheduler, jobs: dict) -> dict:
    """The scheduler's status of these jobs. A status query only reads: when the connection
    drops under it, it is asked once more (the transport reconnects, backing off; a host still
    down raises again, and its runs pause)."""
    try:
        return sched.status(jobs)
    except TransportError as exc:
        if not exc.transient:
            raise
        return sched.status(jobs)
