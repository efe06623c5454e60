"""`mso logs`, for real: a finished task's logs from results/, a running task's from its work
dir, followed until it ends (with a runner watching, and with none)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.commands.test_failure_lines import SECRET, _noisy
from tests.conftest import ROOT, counter_experiment, mso

TALKER_APP = """\
name: talker
version: "1"
description: Says a line, waits for a gate file to appear, says another.
command: [python3, talk.py, "{gate}"]
parameters:
  type: object
  properties:
    gate: {type: string}
"""

TALKER_PY = """\
import os, sys, time
print("before the gate", flush=True)
print("err before", file=sys.stderr, flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print("after the gate", flush=True)
"""


def _talker(repo: Path) -> Path:
    """The `talker` application and its experiment `talk`; the gate that lets it end."""
    (repo / "applications" / "talker").mkdir()
    (repo / "applications" / "talker.yaml").write_text(TALKER_APP)
    (repo / "applications" / "talker" / "talk.py").write_text(TALKER_PY)
    gate = repo.parent / "gate"
    (repo / "experiments" / "talk.yaml").write_text(
        f"name: talk\napplication: talker@1\nparameters: {{gate: '{gate}'}}\n")
    return gate


def _start(repo: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runner", "-C", str(repo), *args],
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _task_state(repo: Path, name: str) -> str | None:
    try:
        [path] = (repo / "results" / name).glob("*/run.json")
        return json.loads(path.read_text())["tasks"][0]["state"]
    except (ValueError, FileNotFoundError):
        return None


def _wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _read_until(proc: subprocess.Popen, wanted: bytes, seconds: float = 30,
                stream: str = "stdout") -> bytes:
    """What the process printed on `stream` until `wanted` appeared (it may still run)."""
    pipe = getattr(proc, stream)
    got, deadline = b"", time.monotonic() + seconds
    while wanted not in got:
        assert time.monotonic() < deadline, f"timed out; got {got!r}"
        ready, _, _ = select.select([pipe], [], [], 0.1)
        if ready:
            chunk = os.read(pipe.fileno(), 4096)
            assert chunk, f"ended early; got {got!r}"
            got += chunk
    return got


def test_a_finished_task_s_logs_come_from_results(example: Path) -> None:
    env = _noisy(example, "{code: [0, 3]}")
    assert mso("run", "noisy", repo=example, env=env).returncode == 2
    out = mso("logs", "noisy", repo=example, env=env)          # the first failed task
    assert out.returncode == 0, out.stderr
    assert out.stdout == "to stdout\n"
    assert "noisy main-0001 (code=3): failed: exit code 3" in out.stderr
    err = mso("logs", "noisy", "main-0001", "--stderr", "--json", repo=example, env=env)
    data = json.loads(err.stdout)
    [run] = [p.name for p in (example / "results" / "noisy").iterdir()]
    assert data | {"text": ""} == {"ok": True, "run_id": run, "task": "main-0001", "state": "failed",
                                   "stream": "stderr", "text": "",
                                   "path": f"{example}/results/noisy/{run}/main-0001/stderr.txt"}
    assert data["text"].endswith("stderr line 14\ntoken [MASKED]\n") and SECRET not in err.stdout
    by_id = mso("logs", run, "main-0000", repo=example, cwd=example)
    assert by_id.returncode == 0 and by_id.stdout == "to stdout\n"
    here = json.loads(mso("logs", run, "main-0000", "--json", repo=example, cwd=example).stdout)
    assert here["path"] == f"results/noisy/{run}/main-0000/stdout.txt"


def test_without_a_task_and_no_failure_the_tasks_are_listed(counter: Path) -> None:
    counter_experiment(counter, "two", ["a", "b"])
    assert mso("run", "two", repo=counter).returncode == 0
    proc = mso("logs", "two", repo=counter)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "has 2 tasks and none failed; name one: mso logs" in proc.stderr
    assert "  main-0000  succeeded  label=a" in proc.stderr
    assert "  main-0001  succeeded  label=b" in proc.stderr
    one = mso("logs", "two", "main-0001", repo=counter)
    assert one.stdout == "counted b\n"


def test_unknown_names_are_errors_with_a_suggestion(counter: Path, tmp_path: Path) -> None:
    counter_experiment(counter, "two", ["a", "b"])
    assert mso("run", "two", repo=counter).returncode == 0
    [run] = [p.name for p in (counter / "results" / "two").iterdir()]
    for args, said in ((["tow"], "no experiment or run 'tow' in results/ (did you mean 'two'?)"),
                       ([run[:-1]], f"did you mean '{run}'?"),
                       (["two", "main-001"], f"run {run} has no task 'main-001' (did you mean"),
                       (["heat-sweep"], "experiment 'heat-sweep' has no runs yet"),
                       (["../two"], "no experiment or run '../two'"),
                       (["*"], "no experiment or run '*'")):
        proc = mso("logs", *args, repo=counter)
        assert proc.returncode == 1 and said in proc.stderr and "Traceback" not in proc.stderr, \
            (args, proc.stderr)
        as_json = mso("logs", *args, "--json", repo=counter)
        assert json.loads(as_json.stdout)["ok"] is False
    nowhere = mso("logs", "two", repo=tmp_path / "empty", cwd=tmp_path)
    assert nowhere.returncode == 1 and "not an mso repository" in nowhere.stderr


def test_following_a_running_task_shows_its_lines_before_it_ends(example: Path) -> None:
    gate = _talker(example)
    runner = _start(example, "run", "talk")
    try:
        _wait_for(lambda: _task_state(example, "talk") == "running")
        _wait_for(lambda: mso("logs", "talk", repo=example).stdout == "before the gate\n")
        err = mso("logs", "talk", "--stderr", "--json", repo=example)
        data = json.loads(err.stdout)
        assert data["state"] == "running" and data["text"] == "err before\n"
        assert data["path"].endswith("/main-0000/.mso/stderr")
        follow = _start(example, "logs", "talk", "--follow")
        assert _read_until(follow, b"before the gate\n") == b"before the gate\n"
        time.sleep(1.5)   # a poll or more: still running, nothing more to say
        assert follow.poll() is None and _task_state(example, "talk") == "running"
        gate.touch()
        out, _ = follow.communicate(timeout=30)
        assert follow.returncode == 0 and out == b"after the gate\n"
        assert runner.wait(timeout=30) == 0
    finally:
        gate.touch()
        runner.kill()
        runner.wait()
    assert mso("logs", "talk", repo=example).stdout == "before the gate\nafter the gate\n"


def test_following_stops_when_the_job_ends_with_no_runner_watching(example: Path) -> None:
    gate = _talker(example)
    runner = _start(example, "run", "talk")
    _wait_for(lambda: _task_state(example, "talk") == "running")
    runner.send_signal(signal.SIGKILL)    # the task goes on; run.json will say running
    runner.wait()
    follow = _start(example, "logs", "talk", "-f")
    assert _read_until(follow, b"before the gate\n") == b"before the gate\n"
    gate.touch()
    out, err = follow.communicate(timeout=30)
    assert follow.returncode == 0, err
    assert out == b"after the gate\n" and b"job has ended" in err
    assert _task_state(example, "talk") == "running"
    assert mso("run", "talk", repo=example).returncode == 0      # resumed and recorded
    assert _task_state(example, "talk") == "succeeded"


def test_following_a_task_that_waits_for_another_waits_for_it_to_start(example: Path) -> None:
    gate = _talker(example)
    (example / "experiments" / "talk.yaml").write_text(
        f"name: talk\napplication: talker@1\nparameters: {{gate: '{gate}'}}\n"
        "steps:\n  - {name: first}\n  - {name: second, needs: [first]}\n")
    runner = _start(example, "run", "talk")
    try:
        _wait_for(lambda: _task_state(example, "talk") == "running")
        follow = _start(example, "logs", "talk", "second-0000", "--follow")
        # the gate opens only once the follower has seen the task waiting (a slow start under
        # load must not let the task run and end before the follower first looks)
        told = _read_until(follow, b"second-0000 has not started yet; waiting for it",
                           stream="stderr")
        time.sleep(0.5)
        assert follow.poll() is None, "it waits"
        gate.touch()
        out, err = follow.communicate(timeout=60)
        assert follow.returncode == 0, told + err
        assert out == b"before the gate\nafter the gate\n"
        assert (told + err).count(b"has not started yet") == 1
        assert runner.wait(timeout=30) == 0
    finally:
        gate.touch()
        runner.kill()
        runner.wait()
