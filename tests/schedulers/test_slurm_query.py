"""The status command as a POSIX shell runs it, under each awk a login host may have (gawk, mawk,
busybox): squeue and sacct are stand-ins on PATH that print recorded squeue text and note the
job ids sacct was asked about. What counts: sacct is asked about exactly the wanted jobs that
squeue does not show live, by id, or by their whole array when many of one array ended."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from runner.schedulers import slurm_query

FIX = Path(__file__).parent.parent / "fixtures" / "slurm"
AWKS = [a for a in ("gawk", "mawk", "busybox") if shutil.which(a)]


def run(tmp_path: Path, awk: str, queue: str, job_ids: list[str], queue_code: int = 0) -> tuple[str, list[str] | None]:
    """Run status_command with stand-ins -> (its stdout, the --jobs sacct got or None if not run)."""
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    (tmp_path / "queue.txt").write_text(queue)
    (bin_ / "squeue").write_text(f"#!/bin/sh\ncat {tmp_path}/queue.txt\nexit {queue_code}\n")
    (bin_ / "sacct").write_text(f'#!/bin/sh\nfor a; do case "$a" in --jobs=*) echo "${{a#--jobs=}}" > {tmp_path}/asked;; esac; done\n'
                                "echo '5_0|x|COMPLETED|0:0'\n")
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
    out = subprocess.run(["sh", "-c", slurm_query.status_command(job_ids)], capture_output=True, text=True,
                         env={"PATH": f"{bin_}:/usr/bin:/bin"}, check=True).stdout
    asked = tmp_path / "asked"
    return out, sorted(asked.read_text().strip().split(",")) if asked.exists() else None


@pytest.fixture(params=AWKS)
def awk(request) -> str:
    return request.param


def test_nothing_ended_runs_no_sacct(tmp_path: Path, awk: str) -> None:
    queue = (FIX / "squeue_pending_running.txt").read_text()
    out, asked = run(tmp_path, awk, queue, ["3_0", "3_1", "3_2", "3_5", "10", "7"])
    assert asked is None   # 3_2..3_5 are in the pending range `3_[2-5%2]`
    squeue, code, sacct = slurm_query.split_status(out)
    assert squeue == queue and code == 0 and sacct == ""


def test_ended_and_unlisted_jobs_are_asked_by_id(tmp_path: Path, awk: str) -> None:
    queue = "3_0|a|COMPLETED|None\n3_1|a|RUNNING|None\n3_[2-5]|a|PENDING|None\n4|b|CANCELLED|None\n"
    out, asked = run(tmp_path, awk, queue, ["3_0", "3_1", "3_4", "3_9", "4", "8"])
    assert asked == ["3_0", "3_9", "4", "8"]   # ended, or no longer listed
    assert slurm_query.split_status(out)[2] == "5_0|x|COMPLETED|0:0\n"


def test_many_ended_elements_ask_for_the_whole_array(tmp_path: Path, awk: str) -> None:
    many = slurm_query.WHOLE_ARRAY_FROM + 1
    queue = "".join(f"3_{i}|a|COMPLETED|None\n" for i in range(many)) + "3_[900-999]|a|PENDING|None\n"
    queue += "6_0|b|FAILED|None\n"
    _, asked = run(tmp_path, awk, queue, [f"3_{i}" for i in range(many)] + ["3_950", "6_0", "6_1"])
    assert asked == ["3", "6_0", "6_1"]
    _, asked = run(tmp_path, awk, queue, [f"3_{i}" for i in range(many - 1)])
    assert asked == sorted(f"3_{i}" for i in range(many - 1))


def test_a_failed_squeue_asks_sacct_about_every_job(tmp_path: Path, awk: str) -> None:
    out, asked = run(tmp_path, awk, "", ["3_0", "3_1", "12"], queue_code=1)
    assert asked == ["12", "3_0", "3_1"]
    assert slurm_query.split_status(out)[1] == 1


def test_wanted_compresses_each_arrays_elements() -> None:
    assert slurm_query.wanted(["12", "3_0", "3_1", "3_2", "3_7", "40_5"]) == "12 3_[0-2,7] 40_[5]"


def test_the_command_is_squeue_then_a_quoted_pick_then_sacct() -> None:
    assert AWKS == ["gawk", "mawk", "busybox"]   # installed by .ci/services/cluster-up
    cmd = slurm_query.status_command(["3_0"])
    assert cmd.startswith("q=$(SLURM_BITSTR_LEN=0 squeue -h --states=all") and "awk -v want='3_[0]' '" in cmd
    assert cmd.endswith('[ -z "$j" ] || SLURM_BITSTR_LEN=0 sacct -P -n -o ' + slurm_query.SACCT_FIELDS + ' --jobs="$j"')
