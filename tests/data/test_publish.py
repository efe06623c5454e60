"""publish_outputs: a run that succeeded writes catalogue entries that validate, are committed with
its results by `mso run --publish`, and that another experiment takes as an input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from runner.declarations import schema
from tests.conftest import counter_experiment, mso
from tests.data.test_stageout import SMALL, add_maker, maker_experiment, only_run

READER_APP = """\
name: reader
version: "1"
description: Reads its input and writes what it saw.
command: [python3, read.py, "{inputs.data}"]
inputs:
  data: {description: a file}
outputs: [seen.txt]
"""

READER_PY = """\
import sys
open("seen.txt", "w").write("saw " + open(sys.argv[1]).read())
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


def git_repo(repo: Path, tmp_path: Path) -> None:
    """The repository under git, with a bare `origin` to publish to."""
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@x", "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "declarations")
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")


def entry(repo: Path, name: str) -> dict:
    return yaml.safe_load((repo / "datasets" / f"{name}.yaml").read_text())


def test_a_published_output_is_committed_with_its_results_and_read_by_another_experiment(
        counter: Path, tmp_path: Path) -> None:
    counter_experiment(counter, "counted", ["hello"], extra="owners: [ana]\npublish_outputs: true\n")
    git_repo(counter, tmp_path)
    got = mso("run", "--publish", "counted", repo=counter)
    assert got.returncode == 0, got.stdout + got.stderr
    folder, record = only_run(counter, "counted")
    name = f"counted-{record['run_id'].lower()}"
    assert record["published"] == [name]
    e = entry(counter, name)
    assert schema.is_valid("dataset", e)
    assert e["location"] == f"results/counted/{record['run_id']}/main-0000/out.txt"
    assert e["sha256"] == record["tasks"][0]["outputs"][0]["sha256"]
    assert e["visibility"] == "public" and e["owners"] == ["ana"] and e["size"] == 6
    assert e["produced_by"] == {"experiment": "counted", "run": record["run_id"],
                                "task": "main-0000", "commit": record["git"]["commit"]}
    # one commit holds the run's results and its entry
    changed = git(counter, "show", "--name-only", "--format=", "HEAD").split()
    assert f"; datasets {name}" in git(counter, "log", "-1", "--format=%s")
    assert f"datasets/{name}.yaml" in changed
    assert f"results/counted/{record['run_id']}/run.json" in changed
    # another experiment reads it
    (counter / "applications" / "reader").mkdir()
    (counter / "applications" / "reader.yaml").write_text(READER_APP)
    (counter / "applications" / "reader" / "read.py").write_text(READER_PY)
    (counter / "experiments" / "reads.yaml").write_text(
        f"name: reads\napplication: reader@1\ninputs: {{data: {name}}}\n")
    assert mso("validate", repo=counter).returncode == 0
    got = mso("run", "reads", repo=counter)
    assert got.returncode == 0, got.stdout + got.stderr
    later, _ = only_run(counter, "reads")
    assert (later / "main-0000" / "seen.txt").read_text() == "saw hello\n"


def test_outputs_on_a_remote_are_published_there_with_a_manifest(counter: Path, remotes) -> None:
    add_maker(counter)
    maker_experiment(counter, "made", remotes, extra="publish_outputs: true\n")
    got = mso("run", "made", repo=counter, env=SMALL)
    assert got.returncode == 0, got.stdout + got.stderr
    _, record = only_run(counter, "made")
    e = entry(counter, record["published"][0])
    assert schema.is_valid("dataset", e)
    assert e["location"] == f"dav:{remotes.folder}/out/{record['run_id']}/main-0000/"
    assert set(e["manifest"]) == {"big.bin", "small.txt"} and e["licence"] == "CC-BY-4.0"
    assert e["credentials"]["RCLONE_CONFIG_DAV_PASS"] == {"env": "MSO_TEST_DAV_PASS"}
    assert remotes.password not in json.dumps(e)
    assert mso("validate", repo=counter).returncode == 0


PAIR_APP = """\
name: pair
version: "1"
description: Writes two outputs in one folder.
command: [python3, pair.py]
outputs: [out/a.txt, out/b.txt]
"""
PAIR_PY = """\
import os
os.makedirs("out", exist_ok=True)
open("out/a.txt", "w").write("a\\n")
open("out/b.txt", "w").write("b\\n")
"""


def test_several_outputs_kept_in_results_publish_a_folder_that_matches_its_manifest(
        example: Path) -> None:
    """The entry's folder holds exactly what its manifest lists, so `validate --data` and the
    stage-in of a reader accept it."""
    (example / "applications" / "pair").mkdir()
    (example / "applications" / "pair.yaml").write_text(PAIR_APP)
    (example / "applications" / "pair" / "pair.py").write_text(PAIR_PY)
    (example / "experiments" / "paired.yaml").write_text(
        "name: paired\napplication: pair@1\npublish_outputs: true\n")
    got = mso("run", "paired", repo=example)
    assert got.returncode == 0, got.stdout + got.stderr
    _, record = only_run(example, "paired")
    e = entry(example, record["published"][0])
    assert e["location"] == f"results/paired/{record['run_id']}/main-0000/out/"
    assert set(e["manifest"]) == {"a.txt", "b.txt"} and e["size"] == 4
    got = mso("validate", "--data", repo=example)
    assert got.returncode == 0, got.stdout + got.stderr
