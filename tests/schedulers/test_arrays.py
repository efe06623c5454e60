"""What the batch backends share (runner/schedulers/arrays.py): index ranges, chunks, adoption
by array name, and the narrow surface every backend keeps."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from runner.schedulers import arrays
from runner.schedulers.base import Job, Scheduler
from runner.schedulers.pbs import PbsScheduler
from runner.schedulers.process import ProcessScheduler
from runner.schedulers.slurm import SlurmScheduler
from runner.schedulers.torque import TorqueScheduler
from tests.schedulers.test_slurm import RUN, jobs


@pytest.mark.parametrize("indices,text", [((0, 1, 2, 5, 7, 8), "0-2,5,7-8"), ((4,), "4"), ((3, 1), "1,3")])
def test_compress_and_expand(indices, text) -> None:
    assert arrays.compress(indices) == text
    assert arrays.expand(text) == sorted(indices)


def test_expand_range_forms() -> None:
    assert arrays.expand("[2-5%2]") == [2, 3, 4, 5]
    assert arrays.expand("[8-9,12%1]") == [8, 9, 12]
    assert arrays.expand("1-7:2") == [1, 3, 5, 7]


def test_split_at_the_real_limit_keeps_every_index_below_it() -> None:
    parts = arrays.chunks(list(range(2500)), 1001)
    assert [c.offset for c in parts] == [0, 1001, 2002]
    assert all(max(c.relative) <= 1000 and min(c.relative) == 0 for c in parts)
    assert sum(len(c.indices) for c in parts) == 2500


# ---- adoption: array names with offsets -> the latest array id per task wins -----------------

def test_adopt_maps_elements_to_tasks_through_their_arrays_offsets() -> None:
    batch = jobs(6)
    offsets = arrays.name_offsets(batch, 4)
    assert offsets == {f"mso.{RUN}.main": 0, f"mso.{RUN}.main+4": 4}
    listed = [arrays.Listed(10, 1, f"mso.{RUN}.main", "10_1"),
              arrays.Listed(11, 1, f"mso.{RUN}.main+4", "11_1"),    # task 5
              arrays.Listed(12, 1, "someone-else", "12_1"),
              arrays.Listed(11, 3, f"mso.{RUN}.main+4", "11_3")]    # task 7: not in this batch
    assert arrays.adopt(listed, offsets, batch) == {f"mso.{RUN}.main-0001": "10_1",
                                                    f"mso.{RUN}.main-0005": "11_1"}


def test_adopt_keeps_the_latest_submission_whatever_the_listing_order() -> None:
    batch, name = jobs(1), f"mso.{RUN}.main"
    older, newer = arrays.Listed(9, 0, name, "9[0].s"), arrays.Listed(30, 0, name, "30[0].s")
    for listed in ([older, newer], [newer, older]):
        assert arrays.adopt(listed, {name: 0}, batch) == {batch[0].name: "30[0].s"}


# ---- the narrow surface ------------------------------------------------------------------------

BACKENDS = [SlurmScheduler, PbsScheduler, TorqueScheduler, ProcessScheduler]


@pytest.mark.parametrize("cls", BACKENDS)
def test_a_backend_offers_only_the_schedulers_operations(cls: type[Scheduler]) -> None:
    public = {n for n in dir(cls) if not n.startswith("_")}
    assert public <= {"render", "submit", "find", "status", "cancel", "admit", "start_estimate",
                      "chains", "held"}
    # five a backend must implement, two with the base's answer (admit, start_estimate)
    assert len(public - {"chains", "held"}) <= 7


def test_every_per_scheduler_hook_is_abstract_and_private() -> None:
    hooks = arrays.ArrayScheduler.__abstractmethods__
    assert {"_directives", "_submit_chunk", "_listed", "_max_array_size"} <= hooks
    assert all(h.startswith("_") for h in hooks - Scheduler.__abstractmethods__)

    class Partial(arrays.ArrayScheduler):   # a backend that forgot its hooks cannot be made
        def status(self, jobs): return {}
        def cancel(self, job_ids): pass

    with pytest.raises(TypeError, match="_listed"):
        Partial(None, None)


# ---- the batch script: array index -> the task's wrapper, run for real by bash ---------------

def _run_element(script_text: str, index: int) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script_text, "batch"], capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "SLURM_ARRAY_TASK_ID": str(index)})


@pytest.mark.parametrize("indices,computed", [
    (range(0, 12), True),          # consecutive, in their usual dirs: computed, a short script
    ((0, 1, 2, 7, 8), False),      # a gap (a resumed run): every task listed
])
def test_each_element_runs_its_own_tasks_wrapper(tmp_path: Path, indices, computed: bool) -> None:
    batch = [Job(j.task, j.name, PurePosixPath(tmp_path) / j.task.id)
             for i in indices for j in jobs(1, start=i)]
    for j in batch:
        (Path(j.work_dir) / ".mso").mkdir(parents=True)
        (Path(j.work_dir) / ".mso" / "job.sh").write_text('echo "ran $PWD $(basename "$BASH_SOURCE")"\n')
    text = arrays.render([], batch, ("SLURM_ARRAY_TASK_ID",), "mso.run.main")
    assert ("case" not in text) == computed and len(text.splitlines()) < (10 if computed else 20)
    for j in batch:
        done = _run_element(text.replace('. "$dir', 'cd "$dir" && . "$dir'), j.task.index)
        assert done.returncode == 0 and done.stdout == f"ran {j.work_dir} job.sh\n", done
    for outside in (max(indices) + 1, 3 if not computed else 99):
        done = _run_element(text, outside)
        assert done.returncode == 0 and done.stdout == ""
        assert f"no task for array index {outside} in this batch" in done.stderr
