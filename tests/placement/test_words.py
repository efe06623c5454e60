"""A placement decision in words: the one-line summary per mode, and what happened on the chosen
infrastructure, from run records made of the real dataclasses."""

from __future__ import annotations

import copy

import pytest

from runner.placement.words import about, actual, line
from runner.state import RunRecord, TaskRecord

AT = "2026-12-02T08:00:00Z"
WHY = {"wait": "sbatch --test-only: 13 min 40 s", "run": "median of 12 earlier tasks",
       "transfer": "no input datasets", "boot": "not a cloud"}
DECISION = {
    "steps": ["main"], "candidates": ["cluster", "cloud"], "mode": "auto", "chosen": "cloud",
    "predicted_at": AT,
    "predictions": {
        "cluster": {"wait": 820.0, "boot": 0.0, "transfer": 0.0, "run": 360.0, "total": 1180.0,
                    "why": WHY},
        "cloud": {"wait": 0.0, "boot": 120.0, "transfer": 60.0, "run": 540.0, "total": 720.0,
                  "why": WHY}},
    "unpredicted": {}}


def decision(**changes) -> dict:
    return {**copy.deepcopy(DECISION), **changes}


def task(i: int, step: str = "main", state: str = "succeeded", **times) -> TaskRecord:
    return TaskRecord(f"{step}-{i:04d}", step, i, {}, state=state, **times)


def record(tasks: list[TaskRecord], infra: str = "cluster", kind: str = "slurm",
           **fields) -> RunRecord:
    return RunRecord("20261202T080000Z-0000000c", "heat", "ab" * 32,
                     {"name": "heat", "version": "1"}, {"name": infra, "kind": kind}, tasks,
                     **fields)


def test_auto_lists_every_candidate_in_order_then_the_soonest() -> None:
    assert line(decision()) == ("cluster: wait ~14 min + run 6 min; "
                                "cloud: boot 2 min + transfer 1 min + run 9 min → cloud")


def test_first_and_override_say_who_chose() -> None:
    first = decision(mode="first", chosen="cluster")
    assert line(first).endswith("run 9 min → cluster (placement: first)")
    override = decision(mode="override", chosen="cluster", predictions={}, unpredicted={})
    assert line(override) == "cluster, cloud → cluster (MSO_PLACEMENT)"
    predicted = decision(mode="override", chosen="cluster")
    assert line(predicted).startswith("cluster: wait ~14 min + run 6 min; cloud: boot 2 min")
    assert line(predicted).endswith(" → cluster (MSO_PLACEMENT)")


def test_an_unpredicted_candidate_says_why() -> None:
    d = decision(chosen="cluster", unpredicted={"cloud": "no earlier run of heat there"})
    del d["predictions"]["cloud"]
    assert line(d) == ("cluster: wait ~14 min + run 6 min; "
                       "cloud: not predicted (no earlier run of heat there) → cluster")


def test_parts_of_a_few_seconds_are_left_out_but_run_is_always_shown() -> None:
    d = decision(candidates=["cluster"], chosen="cluster")
    d["predictions"]["cluster"].update(wait=4.0, transfer=5.0, boot=6.0, run=0.0)
    assert line(d) == "cluster: boot 6 s + run 0 s → cluster"


@pytest.mark.parametrize(("seconds", "words"), [
    (42.4, "42 s"), (59.6, "1 min"), (61.0, "~1 min"), (360.0, "6 min"), (820.0, "~14 min"),
    (3570.0, "~1 h 00 min"), (7679.0, "~2 h 08 min"), (7200.0, "2 h 00 min")])
def test_a_predicted_time_is_to_the_minute_and_says_when_rounded(seconds: float,
                                                                 words: str) -> None:
    assert about(seconds) == words


def test_actual_on_a_cluster_from_its_tasks() -> None:
    rec = record([
        task(0, submitted="2026-12-02T08:00:10Z", started="2026-12-02T08:10:10Z",
             ended="2026-12-02T08:15:10Z"),
        task(1, submitted="2026-12-02T08:00:05Z", started="2026-12-02T08:12:00Z",
             ended="2026-12-02T08:17:05Z"),
        task(0, step="post", submitted="2026-12-02T07:00:00Z", started="2026-12-02T07:00:00Z",
             ended="2026-12-02T09:00:00Z")])   # another step's: not this decision's
    got = actual(decision(chosen="cluster"), rec)
    assert got == {"wait": 605.0, "boot": 0.0, "transfer": 0.0, "run": 415.0, "total": 1025.0}


def test_actual_on_a_cloud_has_no_queue_and_boots_its_servers() -> None:
    servers = [{"id": str(i), "name": f"mso-{i}", "infrastructure": infra, "place": f"{infra}.{i}",
                "created": "2026-12-02T08:00:00Z", "ready": ready}
               for i, (infra, ready) in enumerate([
                   ("cloud", "2026-12-02T08:01:40Z"), ("cloud", "2026-12-02T08:05:00Z"),
                   ("cloud", "2026-12-02T08:02:00Z"), ("other", "2026-12-02T09:00:00Z")])]
    servers.append({**servers[0], "ready": None})   # one that never became ready: not counted
    # stage-in is per server (its place), one after another
    staged = {"cloud.0": {"a": {"seconds": 40.5}, "b": {"seconds": 20}},
              "cloud.1": {"a": {"seconds": 9.5}}, "other.3": {"a": {"seconds": 99}},
              "cluster": {"a": {}}}
    rec = record([task(0, submitted="2026-12-02T08:02:00Z", started="2026-12-02T08:03:00Z",
                       ended="2026-12-02T08:12:00Z")], "cloud", "openstack", servers=servers,
                 datasets={"a": "1" * 64, "b": "2" * 64}, staged=staged)
    got = actual(decision(), rec)
    assert got == {"wait": 0.0, "boot": 120.0, "transfer": 70.0, "run": 540.0, "total": 720.0}
    assert actual(decision(chosen="cluster"), rec)["transfer"] is None   # no seconds recorded


def test_reused_tasks_did_not_run_and_are_left_out() -> None:
    reused = task(0, submitted="2026-11-01T00:00:00Z", started="2026-11-01T00:00:00Z",
                  ended="2026-12-02T09:00:00Z", reused={"run": "earlier", "task": "main-0000"})
    ran = task(1, submitted="2026-12-02T08:00:00Z", started="2026-12-02T08:01:00Z",
               ended="2026-12-02T08:02:00Z")
    got = actual(decision(chosen="cluster"), record([reused, ran]))
    assert (got["wait"], got["run"], got["total"]) == (60.0, 60.0, 120.0)
    only = actual(decision(chosen="cluster"), record([reused]))
    assert (only["wait"], only["run"], only["total"]) == (None, None, None)


def test_a_run_still_going_has_no_run_or_total_yet() -> None:
    rec = record([task(0, submitted="2026-12-02T08:00:00Z", started="2026-12-02T08:00:30Z",
                       ended="2026-12-02T08:05:00Z"),
                  task(1, state="running", submitted="2026-12-02T08:00:00Z",
                       started="2026-12-02T08:01:00Z"),
                  task(2, state="queued", submitted="2026-12-02T08:00:00Z")])
    got = actual(decision(chosen="cluster"), rec)
    assert got == {"wait": 30.0, "boot": 0.0, "transfer": 0.0, "run": None, "total": None}
    waiting = actual(decision(chosen="cluster"), record([task(0, state="queued",
                                                              submitted="2026-12-02T08:00:00Z")]))
    assert waiting["wait"] is None and waiting["run"] is None
    cloud = record([task(0, state="pending")], "cloud", "openstack")
    assert actual(decision(), cloud)["boot"] is None   # no server recorded yet
