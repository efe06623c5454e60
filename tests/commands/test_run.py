"""End to end: `mso run` on the local infrastructure, for real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import jsonschema

from runner.declarations.schema import schema
from tests.conftest import ROOT, counter_experiment, mso, nothing_started


def _record(repo: Path, experiment: str) -> dict:
    [path] = sorted((repo / "results" / experiment).glob("*/run.json"))
    data = json.loads(path.read_text())
    jsonschema.Draft202012Validator(schema("run")).validate(data)
    return data


def test_example_sweep_runs_records_and_is_reused(example: Path) -> None:
    first = mso("run", "heat-sweep", repo=example)
    assert first.returncode == 0, first.stderr
    rec = _record(example, "heat-sweep")
    assert rec["state"] == "succeeded" and len(rec["tasks"]) == 6
    assert {(t["parameters"]["nu"], t["parameters"]["n"]) for t in rec["tasks"]} == {
        (nu, n) for nu in (0.05, 0.1, 0.2) for n in (32, 64)}
    folder = example / "results" / "heat-sweep" / rec["run_id"]
    for t in rec["tasks"]:
        assert t["exit_code"] == 0 and t["peak_memory_kb"] > 1000
        assert t["started"] <= t["ended"]
        summary = json.loads((folder / t["id"] / "out" / "summary.json").read_text())
        assert summary["nu"] == t["parameters"]["nu"] and 0 < summary["heat_ratio"] < 1
        manifest = {o["path"]: o for o in t["outputs"]}
        assert set(manifest) == {"out/field.npy", "out/summary.json"}
        import hashlib
        got = hashlib.sha256((folder / t["id"] / "out/field.npy").read_bytes()).hexdigest()
        assert manifest["out/field.npy"]["sha256"] == got
        log = [json.loads(x) for x in (folder / t["id"] / "heat.log.jsonl").read_text().splitlines()]
        assert log[-1]["severity"] == "OK" and log[-1]["progress"] == 100
    # more diffusion loses more heat: the science is right, not just the plumbing
    ratio = {(t["parameters"]["nu"], t["parameters"]["n"]):
             json.loads((folder / t["id"] / "out/summary.json").read_text())["heat_ratio"]
             for t in rec["tasks"]}
    assert ratio[(0.2, 64)] < ratio[(0.1, 64)] < ratio[(0.05, 64)]
    assert not (example / ".mso" / "work" / rec["run_id"]).exists(), "work dir not cleaned up"

    again = mso("run", "heat-sweep", "--json", repo=example)
    assert again.returncode == 0
    assert json.loads(again.stdout)["runs"][0]["state"] == "up to date"
    forced = mso("run", "heat-sweep", "--force", repo=example)
    assert forced.returncode == 0
    assert len(list((example / "results" / "heat-sweep").glob("*/run.json"))) == 2


def test_changed_parameters_make_a_new_run(example: Path) -> None:
    assert mso("run", "heat-sweep", repo=example).returncode == 0
    exp = example / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("t_end: 0.1", "t_end: 0.02"))
    second = mso("run", "heat-sweep", "--json", repo=example)
    assert json.loads(second.stdout)["runs"][0]["state"] == "succeeded"
    # a description is not a result: changing it reuses the run
    exp.write_text(exp.read_text().replace("How fast", "How quickly"))
    third = mso("run", "heat-sweep", "--json", repo=example)
    assert json.loads(third.stdout)["runs"][0]["state"] == "up to date"


def test_failed_task_is_reported_with_reason_and_exit_2(counter: Path) -> None:
    counter_experiment(counter, "flaky", ["a", "b"],
                       extra="steps:\n  - {name: main, parameters: {code: 0}}\n")
    exp = counter / "experiments" / "flaky.yaml"
    exp.write_text(exp.read_text().replace("matrix: {label: [a, b]}", "matrix: {label: [a, b], code: [0, 3]}"))
    exp.write_text(exp.read_text().replace("steps:\n  - {name: main, parameters: {code: 0}}\n", ""))
    proc = mso("run", "flaky", repo=counter)
    assert proc.returncode == 2
    rec = _record(counter, "flaky")
    states = Counter((t["parameters"]["code"], t["state"]) for t in rec["tasks"])
    assert states == {(0, "succeeded"): 2, (3, "failed"): 2}
    failed = [t for t in rec["tasks"] if t["state"] == "failed"]
    assert all(t["exit_code"] == 3 and t["reason"] == "exit code 3" for t in failed)
    assert all(t["outputs"] == [] for t in failed)
    assert rec["state"] == "failed"
    stdout = counter / "results" / "flaky" / rec["run_id"] / failed[0]["id"] / "stdout.txt"
    assert "counted" in stdout.read_text()


def test_missing_output_fails_the_task(counter: Path) -> None:
    app = counter / "applications" / "counter.yaml"
    app.write_text(app.read_text().replace("outputs: [out.txt]", "outputs: [out.txt, nothing/*.h5]"))
    counter_experiment(counter, "lacking", ["a"])
    assert mso("run", "lacking", repo=counter).returncode == 2
    [task] = _record(counter, "lacking")["tasks"]
    assert task["reason"] == "declared output 'nothing/*.h5' was not produced"


def test_sigkill_mid_run_then_resume_runs_each_task_once(counter: Path) -> None:
    ledger = counter_experiment(counter, "slow", [f"t{i}" for i in range(6)], sleep=1.0)
    infra = counter / "infrastructures" / "local.yaml"
    infra.write_text(infra.read_text().replace("max_parallel: 2", "max_parallel: 2"))
    proc = subprocess.Popen([sys.executable, "-m", "runner", "-C", str(counter), "run", "slow"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: ledger.exists() and len(ledger.read_text().split()) >= 3, 30)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    mid = _record(counter, "slow")
    assert mid["state"] in ("running", "pending")
    assert any(t["state"] == "succeeded" for t in mid["tasks"])
    assert any(t["state"] == "pending" for t in mid["tasks"])
    resumed = mso("run", "slow", repo=counter)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    assert Counter(ledger.read_text().split()) == {f"t{i}": 1 for i in range(6)}
    final = _record(counter, "slow")
    assert final["state"] == "succeeded" and final["run_id"] == mid["run_id"]


def test_sigterm_pauses_and_leaves_jobs_running(counter: Path) -> None:
    ledger = counter_experiment(counter, "paused", ["a", "b"], sleep=2.0)
    proc = subprocess.Popen([sys.executable, "-m", "runner", "-C", str(counter), "run", "paused"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: ledger.exists() and len(ledger.read_text().split()) == 2, 30)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - t0 < 5 and proc.returncode == 130
    assert "keep running" in err
    rec = _record(counter, "paused")
    assert rec["state"] == "paused" and "interrupted" in rec["reason"]
    assert mso("run", "paused", repo=counter).returncode == 0
    assert Counter(ledger.read_text().split()) == {"a": 1, "b": 1}
    assert _record(counter, "paused")["state"] == "succeeded"


def test_cancel_on_interrupt_and_cancel_command(counter: Path) -> None:
    ledger = counter_experiment(counter, "long", ["a", "b"], sleep=60)
    proc = subprocess.Popen([sys.executable, "-m", "runner", "-C", str(counter), "run", "long"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: ledger.exists() and len(ledger.read_text().split()) == 2, 30)
    cancel = mso("cancel", "long", repo=counter)
    assert cancel.returncode == 0, cancel.stderr
    assert proc.wait(timeout=20) == 2
    rec = _record(counter, "long")
    assert rec["state"] == "cancelled" and rec["cancelled_by"]
    assert all(t["state"] == "cancelled" for t in rec["tasks"])
    assert not _processes_with("count.py", counter)
    again = mso("cancel", "long", repo=counter)
    assert again.returncode == 1 and "no unfinished run" in again.stderr


def test_steps_chain_with_needs_and_step_inputs(counter: Path) -> None:
    (counter / "applications" / "counter.yaml").write_text(
        (counter / "applications" / "counter.yaml").read_text()
        + "inputs:\n  previous: {description: an earlier output, optional: true}\n")
    ledger = counter / "chain.ledger"
    (counter / "experiments" / "chain.yaml").write_text(f"""\
name: chain
application: counter
parameters: {{ledger: '{ledger}'}}
matrix: {{label: [x, y]}}
steps:
  - {{name: first}}
  - name: second
    needs: [first]
    inputs: {{previous: {{step: first, path: out.txt}}}}
""")
    proc = mso("run", "chain", repo=counter)
    assert proc.returncode == 0, proc.stderr
    rec = _record(counter, "chain")
    order = ledger.read_text().split()
    assert sorted(order) == ["x", "x", "y", "y"]
    by_id = {t["id"]: t for t in rec["tasks"]}
    assert by_id["second-0000"]["needs"] == ["first-0000"]
    assert by_id["second-0000"]["started"] >= by_id["first-0000"]["ended"]


def test_failed_step_skips_what_needs_it(counter: Path) -> None:
    ledger = counter / "skip.ledger"
    (counter / "experiments" / "skip.yaml").write_text(f"""\
name: skip
application: counter
parameters: {{ledger: '{ledger}', label: z}}
steps:
  - {{name: first, parameters: {{code: 1}}}}
  - {{name: second, needs: [first]}}
""")
    assert mso("run", "skip", repo=counter).returncode == 2
    by_id = {t["id"]: t for t in _record(counter, "skip")["tasks"]}
    assert by_id["first-0000"]["state"] == "failed"
    assert by_id["second-0000"]["state"] == "cancelled"
    assert "did not succeed" in by_id["second-0000"]["reason"]
    assert ledger.read_text().split() == ["z"]


def test_dry_run_prints_scripts_and_runs_nothing(example: Path) -> None:
    proc = mso("run", "--dry-run", "heat-sweep", repo=example)
    assert proc.returncode == 0
    assert proc.stdout.count("#!/bin/bash") == 6
    assert "--nu 0.2 --n 64" in proc.stdout
    assert nothing_started(example)
    data = json.loads(mso("run", "--dry-run", "--json", repo=example).stdout)
    assert {p["experiment"]: len(p["tasks"]) for p in data["plans"]} == {
        "heat-sweep": 6, "heat-sweep-cluster": 6}   # a dry run needs no credentials


def test_unknown_experiment_and_invalid_repo_are_one_line_errors(example: Path) -> None:
    proc = mso("run", "heat-swep", repo=example)
    assert proc.returncode == 1
    assert "no experiment 'heat-swep'" in proc.stderr and "did you mean 'heat-sweep'" in proc.stderr
    exp = example / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("nu: [0.05", "nu: [-1"))
    bad = mso("run", "heat-sweep", repo=example)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "experiments/heat-sweep.yaml:9:8: matrix.nu[0]" in bad.stderr


def test_changed_data_is_refused_before_anything_runs(example: Path) -> None:
    (example / "datasets" / "data" / "gaussian-bump.json").write_text('{"bumps": []}\n')
    proc = mso("run", "heat-sweep", repo=example)
    assert proc.returncode == 1
    assert "sha256" in proc.stderr and "Traceback" not in proc.stderr
    assert "dataset 'gaussian-bump'" in proc.stderr and not (example / "results").exists()


def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _processes_with(word: str, cwd_under: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if word.encode() in (entry / "cmdline").read_bytes() and \
                        os.readlink(entry / "cwd").startswith(str(cwd_under)):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found
