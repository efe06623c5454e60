"""The option rule: every documented option passes, except the ones mso sets itself; the data
agrees with the installed man page when there is one."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import unavailable

from runner.declarations import documented_options, scheduler_options as rule
from runner.errors import SchedulerError


def test_owned_options_are_documented_ones() -> None:
    assert set(rule.SLURM_OWN) <= documented_options.SBATCH
    assert set(rule.PBS_OWN) <= {*documented_options.QSUB_PBS, *documented_options.QSUB_TORQUE,
                                 *documented_options.QSUB_PBS_CHUNK}


@pytest.mark.parametrize("name", sorted(rule.SLURM))
def test_every_sbatch_option_mso_does_not_set_passes(name: str) -> None:
    assert rule.refused("slurm", {name: "x"}) == []


def test_mso_sets_these_and_says_why() -> None:
    for name in ("array", "job-name", "output", "error", "dependency", "chdir", "parsable", "wait",
                 "wrap", "export", "kill-on-invalid-dep"):
        [(key, hint)] = rule.refused("slurm", {name: "x"})
        assert key == name and ("mso sets this" in hint or "declare it as" in hint), hint
    assert rule.refused("slurm", {"mem": "1G"}) == [("mem", "declare it as resources.memory")]


def test_typo_gets_a_did_you_mean() -> None:
    assert rule.refused("slurm", {"reservaton": "r"}) == [("reservaton", "did you mean 'reservation'?")]
    with pytest.raises(SchedulerError, match="'mail_tpye' is not allowed; did you mean 'mail-type'"):
        rule.check("slurm", {"mail_tpye": "END"}, "resources.slurm: sbatch option")


def test_sbatch_list_is_the_man_pages() -> None:
    """The data is `man sbatch`'s OPTIONS (Slurm 22.05); skipped where no man page is installed."""
    if not shutil.which("man"):
        unavailable("no man")
    page = subprocess.run(["man", "sbatch"], capture_output=True, text=True, env={"MANWIDTH": "200"})
    if page.returncode != 0 or "22.05" not in page.stdout:
        unavailable("sbatch(1) of Slurm 22.05 is not installed")
    names = set(re.findall(r"^ {7}(?:-[A-Za-z], )?--([a-z][a-z0-9-]+)", page.stdout, re.M))
    assert names == documented_options.SBATCH
