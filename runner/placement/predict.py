"""How long the tasks of some steps would take to complete on one infrastructure, counted from
now, part by part, each with the inputs behind it in words:

- wait: the scheduler's own estimate of the first task's start (Slurm: `sbatch --test-only`),
  corrected by how far its estimates were off for similar jobs in earlier runs (the median
  error, learnt apart for estimates of a queue ahead and of a free node: jobs ahead that end
  before their limits make the first late by a minute where the second is right); without an
  estimate, the median recorded wait of similar jobs; a host without a queue (local, ssh) or a
  cloud waits for none unless history says otherwise.
- boot: a cloud's servers, from the recorded times from creation to SSH; none when enough warm
  servers are there to take.
- transfer: the input datasets' sizes (times the servers, on a cloud: each gets a copy, one
  after another) over the throughput measured by earlier stage-ins there, else the
  infrastructure's declared `bandwidth`.
- run: per task, the recorded run time of the same point, else of the application, there or
  elsewhere (runner/placement/history.py), else the walltime asked for; the step's tasks dealt
  onto the slots that run side by side (`max_parallel`, or the servers' vCPUs on a cloud;
  unlimited otherwise, as the backends admit them), longest first; steps one after another.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Sequence

from runner.cloud import servers
from runner.cloud.api import Cloud
from runner.declarations.models import Infrastructure, Repository
from runner.placement.history import History, median
from runner.placement.words import about
from runner.plan.resolve import TaskPlan
from runner.results.markdown import size
from runner.schedulers.accounting import requested
from runner.schedulers.script import walltime_seconds

BOOT_PRIOR = 120.0   # seconds assumed for a cloud's first boot, until one is recorded
QUEUED = 5.0         # seconds: a scheduler's estimate above this says a queue stands ahead


@dataclass
class Prediction:
    wait: float = 0.0
    boot: float = 0.0
    transfer: float = 0.0
    run: float = 0.0
    estimate: float | None = None       # the scheduler's own, before history corrected it
    why: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.wait + self.boot + self.transfer + self.run

    def plain(self) -> dict[str, Any]:
        out = {"wait": self.wait, "boot": self.boot, "transfer": self.transfer, "run": self.run,
               "total": self.total, "why": dict(self.why)}
        return {**out, "estimate": self.estimate} if self.estimate is not None else out


def predict(ctx: Any, repo: Repository, infra: Infrastructure, tasks: Sequence[TaskPlan],
            past: History) -> Prediction:
    """The prediction for these tasks (the steps' points that would run) on `infra`; ctx is a
    runner.schedulers.context.Context. Raises what asking the scheduler or the cloud raises."""
    p = Prediction()
    if infra.openstack is not None:
        p.why["wait"] = "a cloud's servers have no queue"
        hosts, per_host = _boot(p, infra, _widest(tasks), past)
        width = hosts * per_host
    else:
        _wait(p, ctx.scheduler(infra), infra, tasks[0], past)
        p.why["boot"] = "not a cloud"
        hosts, width = 1, infra.max_parallel
    _transfer(p, repo, infra, tasks, past, hosts)
    _run(p, infra, tasks, past, width)
    return p


def _widest(tasks: Sequence[TaskPlan]) -> int:
    steps = [t.step for t in tasks]
    return max(steps.count(s) for s in set(steps))


def _wait(p: Prediction, scheduler: Any, infra: Infrastructure, task: TaskPlan,
          past: History) -> None:
    seen = past.waits(infra.name, requested(task.resources)["cpus"])
    p.estimate = scheduler.start_estimate(task.resources)
    if p.estimate is not None:
        # learnt apart: how late jobs ahead end early (a queue), how late a free node starts
        queued = p.estimate > QUEUED
        errors = [w.seconds - w.estimate for w in seen
                  if w.estimate is not None and (w.estimate > QUEUED) == queued]
        off = median(errors) if errors else 0.0
        p.wait = max(0.0, p.estimate + off)
        p.why["wait"] = f"the scheduler's estimate {about(p.estimate)}" + (
            f", {'+' if off >= 0 else '-'}{about(abs(off))} as its estimates were off in "
            f"{len(errors)} earlier run{'s' * (len(errors) != 1)} with "
            f"{'a queue' if queued else 'no queue'} ahead" if errors else
            ", no earlier estimate like it to correct it by")
    elif seen:
        p.wait = median([w.seconds for w in seen])
        p.why["wait"] = f"median wait of {len(seen)} earlier run{'s' * (len(seen) != 1)} there"
    else:
        p.why["wait"] = "no queue estimate and no earlier run there: none assumed"


def _boot(p: Prediction, infra: Infrastructure, tasks: int, past: History) -> tuple[int, int]:
    """Sets p.boot and its why; how many servers, and how many tasks each runs at once."""
    cloud = Cloud(infra)
    found = cloud.find()
    per_server = infra.max_parallel or found.vcpus
    wanted = servers.how_many(infra, tasks, per_server)
    warm = len(servers.warm(cloud, infra, found))
    booted = past.boot_times(infra.name)
    if warm >= wanted:
        p.why["boot"] = f"{warm} warm server{'s' * (warm != 1)} to take"
    elif booted:
        p.boot = median(booted)
        p.why["boot"] = f"median of {len(booted)} earlier boot{'s' * (len(booted) != 1)}"
    else:
        p.boot = BOOT_PRIOR
        p.why["boot"] = f"no boot recorded yet: {about(BOOT_PRIOR)} assumed"
    return wanted, per_server


def _transfer(p: Prediction, repo: Repository, infra: Infrastructure, tasks: Sequence[TaskPlan],
              past: History, hosts: int) -> None:
    """Sets p.transfer: a copy of the datasets to each host (a cloud's servers one by one)."""
    names = sorted({i.dataset for t in tasks for i in t.inputs if i.dataset})
    if not names:
        p.why["transfer"] = "no input datasets"
        return
    total = hosts * sum(repo.datasets[n].size or 0 for n in names)
    measured = past.throughput(infra.name)
    if measured:
        rate, copies = measured
        how = f"{size(int(rate))}/s measured in {copies} earlier stage-in{'s' * (copies != 1)}"
    elif infra.bandwidth:
        rate, how = infra.bandwidth, f"declared bandwidth {size(int(infra.bandwidth))}/s"
    else:
        p.why["transfer"] = (f"{size(total)} of datasets, no throughput measured there nor "
                             "bandwidth declared: not counted")
        return
    p.transfer = total / rate
    p.why["transfer"] = (f"{size(total)} of datasets" + (f" ({hosts} servers)" if hosts > 1 else "")
                         + f" at {how}")


def _run(p: Prediction, infra: Infrastructure, tasks: Sequence[TaskPlan], past: History,
         width: int | None) -> None:
    """Sets p.run and its why: each step's makespan on `width` slots (None: all at once)."""
    by_step: dict[str, list[TaskPlan]] = {}
    for t in tasks:
        by_step.setdefault(t.step, []).append(t)
    sources: dict[str, int] = {}
    for step_tasks in by_step.values():
        times = [_time(t, infra, past, sources) for t in step_tasks]
        p.run += makespan(times, min(len(times), width or len(times)))
    p.why["run"] = ", ".join(f"{n} task{'s' * (n != 1)} from {what}" for what, n in sources.items())
    p.why["run"] += f"; {width} side by side" if width else "; all side by side"


def _time(task: TaskPlan, infra: Infrastructure, past: History, sources: dict[str, int]) -> float:
    found, what = past.run_times(task.application.split("@")[0], task.parameters, infra.name)
    if found:
        took = median(found)
    elif task.resources.walltime:
        took, what = float(walltime_seconds(task.resources.walltime)), "the walltime asked for"
    else:
        took, what = 0.0, "nothing (no earlier run, no walltime)"
    sources[what] = sources.get(what, 0) + 1
    return took


def makespan(times: Sequence[float], slots: int) -> float:
    """When the last of these tasks ends, each started on the first free slot, longest first."""
    loads = [0.0] * max(1, slots)
    for took in sorted(times, reverse=True):
        heapq.heapreplace(loads, loads[0] + took)
    return max(loads) if times else 0.0
