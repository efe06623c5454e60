"""Progress of the direct route: rclone on the host writes a stats line every few seconds to
stderr, which the transport hands on as it arrives and mso says as the runner's own transfers'
`  moving NAME: ...` lines; the stats lines never confuse the one-line error messages."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from runner.data import progress, rclone
from runner.declarations.models import EnvRef
from tests.conftest import mso
from tests.data.conftest import PASS_VAR, Remotes
from tests.data.stagein_helpers import add_reader, experiment, file_dataset, record

# what rclone 1.60 writes with --stats-one-line --stats-log-level NOTICE (and older forms)
STATS = ["2026/11/30 23:03:36 NOTICE:     1.027 MiB / 2.861 MiB, 36%, 0 B/s, ETA -",
         "2026/11/30 23:03:37 NOTICE:     512 MiB / 1 GiB, 50%, 64 MiB/s, ETA 8s (xfr#0/1)",
         "Transferred:   0 B / 0 B, -, 0 B/s, ETA -",
         "2026/11/30 23:03:38 NOTICE:     2.861 MiB / 2.861 MiB, 100%, 1.013 MiB/s, ETA 0s"]


def test_rclone_stats_lines_are_read_and_nothing_else() -> None:
    assert progress.parse(STATS[1]) == (512 << 20, 1 << 30, float(64 << 20))
    assert progress.parse(STATS[2]) == (0, 0, 0.0)
    for other in ("2026/11/30 INFO  : a.bin: Copied (new)", "ERROR : 401 Unauthorized", ""):
        assert progress.parse(other) is None
    said: list[str] = []
    watch = progress.Watcher("big.h5", said.append, mask=lambda s: s.replace("big", "***"))
    for line in STATS:
        watch(line)
    # the one still under way at rate 0, the half-way one; not the empty start nor the end
    assert said == ["  moving ***.h5: 36% of 2.9 MiB, 0 B/s",
                    "  moving ***.h5: 50% of 1.0 GiB, 64.0 MiB/s, 8 s left"]


def test_stats_lines_do_not_read_as_errors() -> None:
    settings = rclone.Settings({"RCLONE_CONFIG_DAV_PASS": EnvRef("NOT_SET_HERE")}, "d.yaml")
    noisy = "NOTICE:     1.403 MiB / 4.04 MiB, 35%, 1.403 MiB/s, ETA 1s\n"
    said = rclone.explain(noisy + "ERROR : f: Failed to copy: disk full\n" + noisy, settings,
                          "moving f", "dav")
    assert said == "d.yaml: moving f failed: ERROR : f: Failed to copy: disk full"
    assert progress.flags() == ["--stats", "10s", "--stats-one-line", "--stats-log-level",
                                "NOTICE"]


def _direct(repo: Path) -> None:
    cluster = repo / "infrastructures" / "cluster.yaml"
    cluster.write_text(cluster.read_text() + "data_access: direct\n")


@pytest.mark.integration
def test_a_slow_direct_transfer_says_how_far_it_is(on_cluster: Path, remotes: Remotes) -> None:
    repo = on_cluster
    _direct(repo)
    add_reader(repo, one_input=True)
    data = os.urandom(3 << 20)
    digest = file_dataset(repo, remotes, "field", data)
    entry = repo / "datasets" / "field.yaml"   # the host's rclone reads its flags from RCLONE_*
    entry.write_text(entry.read_text() + "  RCLONE_BWLIMIT: 1M\n")
    experiment(repo, "slow", "cluster", 1, {"a": "field"})
    proc = mso("run", "slow", repo=repo, timeout=300, env={"MSO_PROGRESS_EVERY": "0.5"})
    assert proc.returncode == 0, proc.stderr
    moving = [ln for ln in proc.stderr.splitlines() if ln.startswith("  moving field: ")]
    assert moving and all(re.fullmatch(r"  moving field: \d+% of 3\.0 MiB, .*/s.*", ln)
                          for ln in moving), proc.stderr
    assert proc.stderr.index(moving[0]) < proc.stderr.index("stage-in: field on cluster: 3.0 MiB "
                                                            "moved directly in")
    assert record(repo, "slow")["staged"]["cluster"]["field"]["sha256"] == digest
    assert remotes.password not in proc.stderr + proc.stdout


@pytest.mark.integration
def test_a_refused_credential_on_the_direct_route_is_one_line(on_cluster: Path,
                                                               remotes: Remotes) -> None:
    repo = on_cluster
    _direct(repo)
    add_reader(repo, one_input=True)
    file_dataset(repo, remotes, "field", os.urandom(3000))
    experiment(repo, "denied", "cluster", 1, {"a": "field"})
    wrong = subprocess.run(["rclone", "obscure", "-"], input="not-the-password",
                           capture_output=True, text=True, check=True).stdout.strip()
    proc = mso("run", "denied", repo=repo, timeout=300,
               env={PASS_VAR: wrong, "MSO_PROGRESS_EVERY": "0.1"})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert (f"the remote 'dav' refused the credentials: check RCLONE_CONFIG_DAV_PASS (from "
            f"${PASS_VAR})") in proc.stderr, proc.stderr
    assert "moving field" not in proc.stderr and wrong not in proc.stderr
