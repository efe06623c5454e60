"""The status command as a POSIX shell runs it, under each awk a login host may have (gawk, mawk,
busybox): squeue and sacct are stand-ins on PATH that print squeue text and note what sacct was
asked. What counts: sacct is asked only about the wanted jobs squeue does not show live; those it
shows ended by their arrays from their earliest end time on, those it no longer lists by id (or
their whole array when many of one array are gone)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from runner.schedulers import slurm_query

FIX = Path(__file__).parent.parent / "fixtures" / "slurm"
AWKS = [a for a in ("gawk", "mawk", "busybox") if shutil.which(a)]


def run(tmp_path: Path, awk: str, queue: str, job_ids: list[str], queue_code: int = 0,
        acct_code: int = 0, ended: bool = True
        ) -> tuple[subprocess.CompletedProcess, list[tuple[str, str, list[str]]]]:
    """Run status_command with stand-ins -> (the shell's result, each sacct call as (its -S time
    or "", its --state or "", its sorted --jobs))."""
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    (tmp_path / "queue.txt").write_text(queue)
    (bin_ / "squeue").write_text(f"#!/bin/sh\ncat {tmp_path}/queue.txt\nexit {queue_code}\n")
    (bin_ / "sacct").write_text(f'#!/bin/sh\nprintf "%s " "$@" >> {tmp_path}/asked; echo >> {tmp_path}/asked\n'
                                f"echo '5_0|x|COMPLETED|0:0'\nexit {acct_code}\n")
    for tool in ("squeue", "sacct"):
        (bin_ / tool).chmod(0o755)
    target = shutil.which(awk)
    (bin_ / "awk").unlink(missing_ok=True)
    if awk == "busybox":
        (bin_ / "awk").write_text(f'#!/bin/sh\nexec {target} awk "$@"\n')
        (bin_ / "awk").chmod(0o755)
    else:
        (bin_ / "awk").symlink_to(target)
    (tmp_path / "asked").unlink(missing_ok=True)
    done = subprocess.run(["sh", "-c", slurm_query.status_command(job_ids, ended)], capture_output=True, text=True,
                          env={"PATH": f"{bin_}:/usr/bin:/bin"})
    asked = tmp_path / "asked"
    return done, [_call(line.split()) for line in (asked.read_text().splitlines() if asked.exists() else [])]


def _call(args: list[str]) -> tuple[str, str, list[str]]:
    since = args[args.index("-S") + 1] if "-S" in args else ""
    state = next((a.split("=", 1)[1] for a in args if a.startswith("--state=")), "")
    jobs = next(a.split("=", 1)[1] for a in args if a.startswith("--jobs="))
    return since, state, sorted(jobs.split(","))


@pytest.fixture(params=AWKS)
def awk(request) -> str:
    return request.param


ENDED = ",".join(slurm_query.ENDED)


def test_nothing_ended_runs_no_sacct(tmp_path: Path, awk: str) -> None:
    queue = (FIX / "squeue_pending_running.txt").read_text()
    done, asked = run(tmp_path, awk, queue, ["3_0", "3_1", "3_2", "3_5", "10", "7"])
    assert asked == [] and done.returncode == 0   # 3_2..3_5 are in the pending range `3_[2-5%2]`
    squeue, code, sacct = slurm_query.split_status(done.stdout)
    assert squeue == queue and code == 0 and sacct == ""


def test_ended_jobs_are_asked_by_array_since_the_earliest_end(tmp_path: Path, awk: str) -> None:
    queue = ("3_0|a|COMPLETED|None|2026-12-01T05:05:31\n3_1|a|RUNNING|None|2026-12-01T06:00:00\n"
             "3_[2-5]|a|PENDING|None|N/A\n3_6|a|FAILED|None|2026-12-01T05:05:29\n"
             "3_7|a|COMPLETED|None|2026-12-01T05:01:00\n4|b|CANCELLED|None|2026-12-01T05:05:30\n")
    done, asked = run(tmp_path, awk, queue, ["3_0", "3_1", "3_4", "3_6", "4", "8", "9_2"])
    # 3_7 ended earlier but is not wanted (recorded already): it does not widen the window
    assert asked == [("2026-12-01T05:05:29", ENDED, ["3", "4"]), ("", "", ["8", "9_2"])]
    assert slurm_query.split_status(done.stdout)[2] == "5_0|x|COMPLETED|0:0\n" * 2


def test_between_accounting_rounds_only_unlisted_jobs_are_asked(tmp_path: Path, awk: str) -> None:
    queue = "3_0|a|COMPLETED|None|2026-12-01T05:05:31\n3_1|a|RUNNING|None|2026-12-01T06:00:00\n"
    _, asked = run(tmp_path, awk, queue, ["3_0", "3_1", "8"], ended=False)
    assert asked == [("", "", ["8"])]
    _, asked = run(tmp_path, awk, queue, ["3_0", "3_1"], ended=False)
    assert asked == []


def test_many_unlisted_elements_ask_for_the_whole_array(tmp_path: Path, awk: str) -> None:
    many = slurm_query.WHOLE_ARRAY_FROM + 1
    queue = "3_[900-999]|a|PENDING|None|N/A\n"
    _, asked = run(tmp_path, awk, queue, [f"3_{i}" for i in range(many)] + ["3_950", "6_0", "6_1"])
    assert asked == [("", "", ["3", "6_0", "6_1"])]
    _, asked = run(tmp_path, awk, queue, [f"3_{i}" for i in range(many - 1)])
    assert asked == [("", "", sorted(f"3_{i}" for i in range(many - 1)))]


def test_a_failed_squeue_asks_sacct_about_every_job(tmp_path: Path, awk: str) -> None:
    done, asked = run(tmp_path, awk, "", ["3_0", "3_1", "12"], queue_code=1)
    assert asked == [("", "", ["12", "3_0", "3_1"])]
    assert slurm_query.split_status(done.stdout)[1] == 1


def test_a_failed_sacct_fails_the_command(tmp_path: Path, awk: str) -> None:
    queue = "3_0|a|COMPLETED|None|2026-12-01T05:05:31\n"
    done, asked = run(tmp_path, awk, queue, ["3_0", "8"], acct_code=1)
    assert len(asked) == 2 and done.returncode != 0


def test_wanted_compresses_each_arrays_elements() -> None:
    assert slurm_query.wanted(["12", "3_0", "3_1", "3_2", "3_7", "40_5"]) == "12 3_[0-2,7] 40_[5]"


def test_the_command_is_squeue_then_a_quoted_pick_then_sacct() -> None:
    assert AWKS == ["gawk", "mawk", "busybox"]   # installed by .ci/services/cluster-up
    cmd = slurm_query.status_command(["3_0"])
    assert cmd.startswith("q=$(SLURM_BITSTR_LEN=0 squeue -h --states=all") and "awk -v want='3_[0]' '" in cmd
    assert cmd.endswith('[ "$3" = - ] || SLURM_BITSTR_LEN=0 sacct -P -n -o ' + slurm_query.SACCT_FIELDS
                        + ' --jobs="$3" || r=$?; [ $r = 0 ]')
