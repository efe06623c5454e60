"""End to end: `mso run` on local in a real git repository, then `mso rerun RUN [--verify]`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema

from runner.declarations.schema import schema
from tests.conftest import ROOT, mso

NOISE_APP = """\
name: noise
version: "1"
description: Writes random numbers and the time, and one steady file.
command: [python3, noise.py]
parameters: {type: object, properties: {k: {type: integer}}}
outputs: [out.json, noise.txt, steady.txt]
volatile: {out.json: [elapsed, "runs.*.at"]}
"""

NOISE_PY = """\
import json, random, time
json.dump({"value": random.random(), "elapsed": time.time(), "fixed": 1,
           "runs": [{"at": time.time(), "n": 1}]}, open("out.json", "w"))
open("noise.txt", "w").write(str(random.random()))
open("steady.txt", "w").write("steady\\n")
"""


def commit_all(repo: Path, message: str = "declarations") -> str:
    """Commit everything in `repo` (a git repository made on first use); the commit's sha."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c",
                               "user.email=t@example.org", *args], check=True,
                              capture_output=True, text=True).stdout
    if not (repo / ".git").exists():
        git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", message)
    return git("rev-parse", "HEAD").strip()


def ran(repo: Path, experiment: str) -> str:
    """Run the experiment; its run id."""
    proc = mso("run", experiment, "--json", repo=repo)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["runs"][0]["run_id"]


def worktrees(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "worktree", "list", "--porcelain"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.startswith("worktree ")]


def test_heat_rerun_is_identical_but_for_declared_volatile_fields(example: Path) -> None:
    commit = commit_all(example)
    run_id = ran(example, "heat-sweep")
    proc = mso("rerun", run_id, "--verify", "--json", repo=example, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    v = out["verification"]
    assert out["ok"] and out["state"] == "succeeded" and v["result"] == "identical"
    assert v["compared"] == 12 and v["identical"] + v["volatile"] == 12
    assert v["identical"] >= 6, "every field.npy is byte for byte the same"
    for d in v["differences"]:   # the solver's wall time, and nothing else
        assert d["status"] == "volatile" and d["path"] == "out/summary.json"
        assert [(f["field"], f["volatile"]) for f in d["fields"]] == [("seconds", True)]
    new = example / "results" / "heat-sweep" / out["rerun"] / "run.json"
    record = json.loads(new.read_text())
    jsonschema.Draft202012Validator(schema("run")).validate(record)
    assert record["rerun_of"] == run_id and record["git"] == {
        "commit": commit, "dirty": False, "branch": None}
    assert all(t["state"] == "succeeded" and not t.get("reused") for t in record["tasks"])
    kept = example / "results" / "heat-sweep" / run_id / f"verify-{out['rerun']}.json"
    assert json.loads(kept.read_text())["result"] == "identical" and v["file"].endswith(kept.name)
    assert len(worktrees(example)) == 1 and not list((example / ".mso" / "rerun").iterdir())
    text = mso("rerun", run_id, "--verify", repo=example, timeout=300)
    assert text.returncode == 0, text.stderr
    assert "verify: identical: 12 outputs compared" in text.stdout


def test_a_nondeterministic_application_differs_by_name(example: Path) -> None:
    (example / "applications" / "noise").mkdir()
    (example / "applications" / "noise.yaml").write_text(NOISE_APP)
    (example / "applications" / "noise" / "noise.py").write_text(NOISE_PY)
    (example / "experiments" / "noise.yaml").write_text(
        "name: noise\napplication: noise@1\nmatrix: {k: [1, 2]}\n")
    commit_all(example)
    run_id = ran(example, "noise")
    proc = mso("rerun", run_id, "--verify", repo=example, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].startswith("verify: differs: 6 outputs compared, 2 identical, 0 differ only")
    for task in ("main-0000", "main-0001"):
        assert any(x.startswith(f"  {task} out.json: value 0.") and " → 0." in x for x in lines)
        assert f"  {task} out.json: elapsed differs (volatile)" in lines
        assert f"  {task} out.json: runs.0.at differs (volatile)" in lines
        assert f"  {task} noise.txt: sha256 differs" in lines
    assert not any("steady.txt" in x or "fixed" in x or "runs.0.n" in x for x in lines)
    built = mso("book", "build", repo=example, timeout=300)
    assert built.returncode == 0, built.stderr
    page = (example / ".mso/book/docs/runs/noise" / run_id / "index.md").read_text()
    section = page.split("## Verification", 1)[1].split("## Tasks", 1)[0]
    assert "outputs differ" in section and "<code>noise.txt</code> | sha256 differs" in section
    assert "elapsed differs (volatile)" in section and "| value 0." in section


def test_what_cannot_be_had_again_is_refused_by_name(example: Path) -> None:
    (example / ".gitignore").write_text("datasets/data/\n")   # the data is not in the commit
    commit_all(example)
    run_id = ran(example, "heat-sweep")
    # the data left out of the commit is taken from here while its checksum is the recorded one
    assert mso("rerun", run_id, repo=example, timeout=300).returncode == 0
    data = example / "datasets" / "data" / "gaussian-bump.json"
    data.write_text(data.read_text().replace("0.5", "0.25"))
    proc = mso("rerun", run_id, repo=example)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "dataset gaussian-bump: datasets/data/gaussian-bump.json is not in the run's commit" in proc.stderr
    assert len(list((example / "results" / "heat-sweep").iterdir())) == 2, "nothing was written"
    assert len(worktrees(example)) == 1
    for bad, says in (("20990101T000000Z-00000000-00000000", "no run 20990101T000000Z"),
                      ("../heat-sweep", "is not a run id")):
        proc = mso("rerun", bad, repo=example)
        assert proc.returncode == 1 and says in proc.stderr and "Traceback" not in proc.stderr


def test_a_run_with_uncommitted_changes_is_refused(example: Path) -> None:
    commit_all(example)
    exp = example / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("t_end: 0.1", "t_end: 0.02"))
    run_id = ran(example, "heat-sweep")
    proc = mso("rerun", run_id, repo=example)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"cannot rerun {run_id} exactly: it ran with uncommitted changes" in proc.stderr


WAIT_APP = """\
name: wait
version: "1"
description: Waits a minute while a marker file exists.
command: [python3, wait.py, "{marker}"]
parameters: {type: object, properties: {marker: {type: string}}}
outputs: [out.txt]
"""

WAIT_PY = """\
import os, sys, time
start = time.monotonic()
while os.path.exists(sys.argv[1]) and time.monotonic() < start + 60:
    time.sleep(0.1)
open("out.txt", "w").write("done\\n")
"""


def test_an_interrupted_rerun_is_cancelled_and_its_worktree_removed(example: Path,
                                                                    tmp_path: Path) -> None:
    marker = tmp_path / "wait"
    (example / "applications" / "wait").mkdir()
    (example / "applications" / "wait.yaml").write_text(WAIT_APP)
    (example / "applications" / "wait" / "wait.py").write_text(WAIT_PY)
    (example / "experiments" / "wait.yaml").write_text(
        f"name: wait\napplication: wait@1\nparameters: {{marker: '{marker}'}}\n")
    commit_all(example)
    run_id = ran(example, "wait")
    marker.touch()   # from now on the task waits
    proc = subprocess.Popen([sys.executable, "-m", "runner", "-C", str(example), "rerun", run_id],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    folder = example / "results" / "wait"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _running(folder, run_id):
        time.sleep(0.2)
    assert _running(folder, run_id), "the rerun never started its task"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    [new] = [p for p in folder.iterdir() if p.name != run_id]
    record = json.loads((new / "run.json").read_text())
    assert record["state"] == "cancelled" and record["rerun_of"] == run_id
    assert "temporary worktree" in record["reason"]
    assert len(worktrees(example)) == 1 and not list((example / ".mso" / "rerun").iterdir())
    assert not (example / ".mso" / "work" / new.name).exists()


def _running(folder: Path, run_id: str) -> bool:
    for path in folder.glob("*/run.json"):
        if path.parent.name != run_id:
            return json.loads(path.read_text())["tasks"][0]["state"] == "running"
    return False
