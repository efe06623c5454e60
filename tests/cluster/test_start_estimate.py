"""Slurm's own estimate of when a task would start, asked of the real test cluster the way mso
asks it (sbatch --test-only over SSH as the test user), with the node free, and with another
user's job holding its CPUs (tests/cluster/conftest.py's queue_load)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Iterator

import pytest

from runner.declarations.models import Infrastructure, Resources, freeze
from runner.declarations.repository import load_valid
from runner.errors import SchedulerError
from runner.schedulers.base import Scheduler
from runner.schedulers.context import Context

pytestmark = pytest.mark.integration

ONE = Resources(tasks=1, cpus_per_task=1, walltime="00:05:00")


@pytest.fixture
def cluster(on_cluster: Path) -> Iterator[tuple[Context, Infrastructure]]:
    """A context, and the example repository's `cluster` infrastructure (Slurm over SSH)."""
    with Context() as ctx:
        yield ctx, load_valid(on_cluster).infrastructure("cluster")


def scheduler(cluster: tuple[Context, Infrastructure], **changes) -> Scheduler:
    ctx, infra = cluster
    return ctx.scheduler(dataclasses.replace(infra, **changes))


def test_a_free_node_starts_a_task_now(cluster, queue_load) -> None:
    assert scheduler(cluster).start_estimate(ONE) < 5
    # an allowed option value with the shell's operators in it reaches sbatch as one word
    awkward = dataclasses.replace(ONE, slurm=freeze({"comment": "a|b&(c)"}))
    assert scheduler(cluster).start_estimate(awkward) < 5


def behind_a_minute_job(estimate: float, began: float) -> bool:
    """Whether `estimate` is when a job of a 60-s limit, submitted after `began` and running
    now, ends: it started after `began`, and Slurm expects it to use all of its limit, so no
    more than the time waited since is gone; it started before fill() returned, so no more
    than 60 s remain. Both instants are whole seconds (1 s either way)."""
    waited = time.monotonic() - began
    return 60 - waited - 1 <= estimate <= 61


def test_a_task_waits_for_the_job_holding_every_cpu(cluster, queue_load) -> None:
    sched, began = scheduler(cluster), time.monotonic()
    queue_load.fill(60)
    estimate = sched.start_estimate(ONE)
    assert behind_a_minute_job(estimate, began), (estimate, time.monotonic() - began)


def test_a_task_that_fits_beside_the_load_starts_now(cluster, queue_load) -> None:
    sched, began = scheduler(cluster), time.monotonic()
    queue_load.fill(60, cpus=queue_load.cpus - 1)
    assert sched.start_estimate(ONE) < 5
    estimate = sched.start_estimate(dataclasses.replace(ONE, cpus_per_task=2))
    assert behind_a_minute_job(estimate, began), (estimate, time.monotonic() - began)


@pytest.mark.parametrize("changes, reason", [
    ({"partition": "nosuch"}, "invalid partition specified: nosuch"),
    ({}, "Requested node configuration is not available")], ids=["no such partition", "more CPUs than the node"])
def test_a_request_the_cluster_refuses_is_one_line(cluster, queue_load, changes, reason) -> None:
    res = dataclasses.replace(ONE, cpus_per_task=queue_load.cpus + (0 if changes else 1))
    with pytest.raises(SchedulerError) as err:
        scheduler(cluster, **changes).start_estimate(res)
    assert "\n" not in str(err.value) and reason in str(err.value), err.value
