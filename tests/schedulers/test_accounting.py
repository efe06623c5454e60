"""What jobs used, from recorded sacct output and documented qstat -f output; the wait for a
lagging accounting; the wrapper's CPU time; the requested figures; the merge in reconcile."""

from __future__ import annotations

from pathlib import Path

from runner.declarations.models import Resources
from runner.monitor.reconcile import _usage
from runner.runs import completion
from runner.schedulers.accounting import requested
from runner.schedulers import accounting, pbs, script, slurm, slurm_status, states
from runner.schedulers.base import JobStatus
from runner.staging.collect import Collected, records
from runner.state import State

FIX = Path(__file__).parent.parent / "fixtures"


def test_durations_as_sacct_and_qstat_write_them() -> None:
    assert accounting.duration_s("00:03.905") == 3.905
    assert accounting.duration_s("01:02:03") == 3723
    assert accounting.duration_s("1-00:00:01") == 86401
    assert accounting.duration_s("Unknown") is None and accounting.duration_s("") is None


def test_status_joins_squeue_with_sacct_usage_in_one_command() -> None:
    text = (FIX / "slurm" / "status_squeue_then_sacct_usage.txt").read_text()
    queued, code, told = slurm.split_status(text)
    assert code == 0 and "COMPLETED" in queued
    got = slurm_status.parse_sacct(told)
    assert got["119068_0"].state == State.SUCCEEDED
    assert got["119068_0"].usage == {"elapsed_s": 7, "cpu_s": 3.905, "queue_wait_s": 0, "source": "sacct"}
    assert got["119068_1"].usage["cpu_s"] == 3.858   # steps' lines are left out, not summed twice


def test_sacct_energy_and_queue_wait() -> None:
    line = "7_1|n|COMPLETED|0:0|00:01:00||2026-12-01T01:00:00|2026-12-01T01:02:05|2026-12-01T01:03:05|60|01:59.5|5400\n"
    assert slurm_status.parse_sacct(line)["7_1"].usage == {
        "elapsed_s": 60, "cpu_s": 119.5, "queue_wait_s": 125, "energy_j": 5400, "source": "sacct"}
    # a running job's figures are not yet usage, and the old 6 columns have none
    assert slurm_status.parse_sacct(line.replace("COMPLETED", "RUNNING"))["7_1"].usage is None
    assert slurm_status.parse_sacct("7_1|n|COMPLETED|0:0|00:00:01|\n")["7_1"].usage is None


def test_pbspro_and_torque_usage_from_qstat() -> None:
    text = (FIX / "pbs" / "published" / "pbspro_qstat_f_finished.txt").read_text()
    attrs = pbs.parse_qstat_full(text)["1240.pbs01"]
    assert accounting.qstat_usage(attrs) == {"elapsed_s": 60, "cpu_s": 59, "queue_wait_s": 1, "source": "qstat"}
    text = (FIX / "pbs" / "published" / "torque_qstat_f_t.txt").read_text()
    got = pbs.statuses(pbs.parse_qstat_full(text), states.TORQUE, states.TORQUE_EXIT)
    first = next(st for st in got.values() if st and st.state == State.SUCCEEDED)
    assert first.usage == {"elapsed_s": 12, "cpu_s": 0, "queue_wait_s": 1, "source": "qstat"}   # energy_used 0
    assert accounting.qstat_usage({"resources_used.energy": "0.5"})["energy_j"] == 1_800_000


def test_an_ended_job_waits_for_the_accounting_to_tell_its_usage() -> None:
    now = [0.0]
    lag = accounting.Lagging(60, clock=lambda: now[0])
    ended = JobStatus(State.SUCCEEDED)
    running = {"5_0": JobStatus(State.RUNNING)}
    held = lag.joined("5_0", ended, running)                 # sacct lags: provisional
    assert held.state == State.SUCCEEDED and held.provisional
    assert not completion.ended(held, exit_written=True)     # waited for, wrapper or not
    done = {"5_0": JobStatus(State.SUCCEEDED, None, {"cpu_s": 1.0, "source": "sacct"})}
    told = lag.joined("5_0", ended, done)
    assert told.usage == {"cpu_s": 1.0, "source": "sacct"} and not told.provisional
    assert lag.joined("6_0", ended, None) is ended            # no accounting: no wait
    assert lag.joined("8_0", ended, {}).provisional           # not listed yet: held too
    lag.joined("7_0", ended, {"7_0": JobStatus(State.RUNNING)})
    now[0] = 61
    assert lag.joined("7_0", ended, {"7_0": JobStatus(State.RUNNING)}) is ended   # not forever


def test_wrapper_cpu_time_from_bash_times() -> None:
    assert script.cpu_seconds("0m0.003s 0m0.000s\n1m0.250s 0m0.069s\n") == 60.319
    assert script.cpu_seconds("0m0,5s 0m0,25s") == 0.75   # a comma locale
    assert script.cpu_seconds(None) is None and script.cpu_seconds("junk") is None
    got = records({script.STARTED: "100", script.ENDED: "130", script.CPU: "0m0s 0m0s\n0m2.5s 0m0.5s"})
    assert got.usage == {"elapsed_s": 30, "cpu_s": 3.0}
    assert records({script.EXIT: "0"}).usage is None   # an older wrapper's folder


def test_accounting_figures_win_and_say_so() -> None:
    got = Collected(usage={"elapsed_s": 30, "cpu_s": 3.0})
    seen = JobStatus(State.SUCCEEDED, None, {"elapsed_s": 31, "queue_wait_s": 4, "source": "sacct"})
    assert _usage(got, seen) == {"elapsed_s": 31, "cpu_s": 3.0, "queue_wait_s": 4, "source": "sacct"}
    assert _usage(got, None) == {"elapsed_s": 30, "cpu_s": 3.0, "source": "wrapper"}
    assert _usage(Collected(), JobStatus(None)) is None


def test_requested_figures() -> None:
    assert requested(Resources()) == {"cpus": 1}
    assert requested(Resources(nodes=2, tasks=8, cpus_per_task=4, memory="1.5G", walltime="1-00:00:10")) == {
        "cpus": 32, "memory_mb": 3072, "walltime_s": 86410}
    assert requested(Resources(tasks=3, memory="512M"))["memory_mb"] == 512
