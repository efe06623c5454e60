"""`mso logs --follow` on the test Slurm cluster: a running job's output is read from its work
dir over SSH, line by line, before the job ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.commands.test_logs import _read_until, _start, _talker, _task_state, _wait_for
from tests.conftest import mso

pytestmark = pytest.mark.integration


def test_following_a_slurm_job_shows_its_lines_before_it_ends(slurm: Path) -> None:
    _talker(slurm)
    gate = Path(f"/tmp/mso-test-gate-{slurm.parent.name}")   # where the test user can see it
    gate.unlink(missing_ok=True)
    exp = slurm / "experiments" / "talk.yaml"
    exp.write_text(f"name: talk\napplication: talker@1\ninfrastructure: cluster\n"
                   f"parameters: {{gate: '{gate}'}}\n")
    runner = _start(slurm, "run", "talk")
    try:
        _wait_for(lambda: _task_state(slurm, "talk") == "running", 120)
        follow = _start(slurm, "logs", "talk", "--follow")
        assert _read_until(follow, b"before the gate\n", 60) == b"before the gate\n"
        assert _task_state(slurm, "talk") == "running"
        now = json.loads(mso("logs", "talk", "--stderr", "--json", repo=slurm).stdout)
        assert now["text"] == "err before\n" and now["path"].startswith("127.0.0.1:/")
        gate.touch()
        out, err = follow.communicate(timeout=120)
        assert follow.returncode == 0, err
        assert out == b"after the gate\n"
        assert runner.wait(timeout=120) == 0
    finally:
        gate.touch()
        runner.kill()
        runner.wait()
    done = mso("logs", "talk", repo=slurm)
    assert done.stdout == "before the gate\nafter the gate\n"
    gate.unlink(missing_ok=True)
