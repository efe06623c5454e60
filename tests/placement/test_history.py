"""What placement reads from earlier runs (runner/placement/history.py) and how it deals tasks
onto slots (predict.makespan), on records written as mso writes them."""

from __future__ import annotations

import json
from pathlib import Path

from runner import state
from runner.placement.history import History
from runner.placement.predict import makespan
from runner.state import RunRecord, State, TaskRecord


def _task(tid: str, submitted: str, started: str, ended: str, cpus: int = 1,
          **more) -> TaskRecord:
    return TaskRecord(tid, "main", int(tid[-1]), {"n": int(tid[-1])}, state=State.SUCCEEDED,
                      submitted=f"2026-01-01T00:{submitted}Z", started=f"2026-01-01T00:{started}Z",
                      ended=f"2026-01-01T00:{ended}Z", requested={"cpus": cpus}, **more)


def _save(results: Path, run_id: str, tasks: list[TaskRecord], places: dict[str, str],
          **more) -> None:
    record = RunRecord(run_id, "e", "h", {"name": "heat"}, {"name": "cluster"}, tasks,
                       state=State.SUCCEEDED, **more)
    folder = results / "e" / run_id
    folder.mkdir(parents=True)
    state.save(record, folder)
    (folder / state.PLAN).write_text(json.dumps({"tasks": [
        {"id": t.id, "infrastructure": places[t.id]} for t in tasks]}))


def test_waits_of_similar_jobs_with_what_was_predicted(tmp_path: Path) -> None:
    _save(tmp_path, "20260101T000000Z-a", [_task("main-0", "00:00", "01:40", "02:00"),
                                           _task("main-1", "00:00", "02:00", "02:30")],
          {"main-0": "cluster", "main-1": "cluster"},
          placement=[{"chosen": "cluster", "predictions": {"cluster": {"estimate": 90.0}}}])
    _save(tmp_path, "20260102T000000Z-b", [_task("main-0", "00:00", "00:30", "01:00", cpus=64)],
          {"main-0": "cluster"})
    past = History.of(tmp_path)
    (wait,) = past.waits("cluster", cpus=2)
    assert (wait.seconds, wait.estimate) == (100.0, 90.0), "first start after first submission"
    assert [w.seconds for w in past.waits("cluster", cpus=64)] == [30.0]
    assert past.waits("elsewhere", cpus=1) == []


def test_run_times_prefer_the_same_point_on_the_same_infrastructure(tmp_path: Path) -> None:
    _save(tmp_path, "20260101T000000Z-a", [_task("main-0", "00:00", "00:00", "00:10"),
                                           _task("main-1", "00:00", "00:00", "01:00")],
          {"main-0": "cluster", "main-1": "cloud.1"},
          servers=[{"place": "cloud.1", "infrastructure": "cloud", "created": "x"}])
    past = History.of(tmp_path)
    assert past.run_times("heat", {"n": 0}, "cluster") == ([10.0], "this point's earlier runs on cluster")
    assert past.run_times("heat", {"n": 1}, "cloud") == ([60.0], "this point's earlier runs on cloud")
    assert past.run_times("heat", {"n": 1}, "cluster") == \
        ([60.0], "this point's earlier runs elsewhere")
    assert past.run_times("heat", {"n": 7}, "cluster") == ([10.0], "heat's tasks on cluster")
    assert past.run_times("other", {"n": 0}, "cluster") == ([], "")


def test_throughput_and_boot_times_count_a_cloud_s_servers_as_the_cloud(tmp_path: Path) -> None:
    servers = [{"place": "cloud.1", "infrastructure": "cloud", "created": "2026-01-01T00:00:00Z",
                "ready": "2026-01-01T00:01:30Z"},
               {"place": "cloud.2", "infrastructure": "cloud", "warm_from": "r0",
                "created": "2026-01-01T00:00:00Z", "ready": "2026-01-01T00:00:01Z"}]
    staged = {"cloud.1": {"d": {"bytes": 4_000_000, "seconds": 2.0}},
              "cloud.2": {"d": {"bytes": 0, "seconds": 0.0}},       # found in its cache
              "cluster": {"d": {"bytes": 1_000_000, "seconds": 4.0}}}
    _save(tmp_path, "20260101T000000Z-a", [_task("main-0", "00:00", "00:00", "00:10")],
          {"main-0": "cloud.1"}, servers=servers, staged=staged)
    past = History.of(tmp_path)
    assert past.throughput("cloud") == (2e6, 1)
    assert past.throughput("cluster") == (250e3, 1)
    assert past.throughput("nowhere") is None
    assert past.boot_times("cloud") == [90.0], "a server taken warm did not boot"


def test_unfinished_runs_do_not_count(tmp_path: Path) -> None:
    _save(tmp_path, "20260101T000000Z-a", [_task("main-0", "00:00", "00:50", "01:00")],
          {"main-0": "cluster"})
    record = state.load(tmp_path / "e" / "20260101T000000Z-a" / state.RECORD)
    record.state = State.RUNNING
    state.save(record, tmp_path / "e" / "20260101T000000Z-a")
    assert History.of(tmp_path).waits("cluster", 1) == []


def test_makespan_deals_the_longest_first_onto_free_slots() -> None:
    assert makespan([10, 10, 10, 10], 2) == 20
    assert makespan([30, 10, 10, 10], 2) == 30
    assert makespan([5, 4, 3, 3, 3], 3) == 7, "5 | 4+3 | 3+3"
    assert makespan([], 4) == 0


def test_a_damaged_record_is_passed_over(tmp_path: Path) -> None:
    _save(tmp_path, "20260101T000000Z-a", [_task("main-0", "00:00", "00:50", "01:00")],
          {"main-0": "cluster"})
    damaged = tmp_path / "e" / "20260102T000000Z-b"
    damaged.mkdir()
    (damaged / state.RECORD).write_text("{not json")
    assert [w.seconds for w in History.of(tmp_path).waits("cluster", 1)] == [50.0]


class _Estimating:
    """A scheduler whose own estimate is given."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds

    def start_estimate(self, res) -> float | None:
        return self.seconds


def test_the_estimate_is_corrected_by_earlier_errors_with_a_queue_and_without(
        tmp_path: Path) -> None:
    from runner.declarations.models import Infrastructure
    from runner.placement.predict import Prediction, _wait
    from runner.plan.resolve import TaskPlan
    for run_id, (start, estimate) in {"20260101T000000Z-a": ("01:40", 160.0),   # 60 s early
                                      "20260102T000000Z-b": ("00:01", 0.0),     # 1 s late
                                      "20260103T000000Z-c": ("00:30", 90.0)}.items():
        _save(tmp_path, run_id, [_task("main-0", "00:00", start, "02:00")], {"main-0": "cluster"},
              placement=[{"chosen": "cluster", "predictions": {"cluster": {"estimate": estimate}}}])
    past, infra = History.of(tmp_path), Infrastructure(name="cluster", kind="slurm")
    task = TaskPlan("main-0", "main", 0, "heat", "cluster", {}, ())

    def wait(estimate: float | None) -> Prediction:
        p = Prediction()
        _wait(p, _Estimating(estimate), infra, task, past)
        return p
    queued = wait(100.0)
    assert queued.wait == 40.0 and queued.estimate == 100.0, "the median of -60 and -60"
    assert "-1 min as its estimates were off in 2 earlier runs with a queue ahead" in \
        queued.why["wait"]
    assert wait(0.0).wait == 1.0, "a free node: only the free node's run counts"
    unknown = wait(None)
    assert unknown.wait == 30.0 and "median wait of 3 earlier runs" in unknown.why["wait"]
