"""The spec hash says whether a recorded run is up to date: a new declaration field, at its
default, must not change it (every earlier run would run again). Pinned on a repository written
here, so that edits to the example repository do not move it."""

from __future__ import annotations

from pathlib import Path

from runner.declarations.repository import load_valid
from runner.plan.resolve import plan

APP = """\
name: solver
version: "2"
description: Solves.
command: [python3, solve.py, "{nu}"]
parameters: {type: object, properties: {nu: {type: number}}}
outputs: [out.json]
"""
EXPERIMENT = "name: sweep\napplication: solver\nmatrix: {nu: [0.1, 0.2]}\n"
# the spec hash and the first task's identity of that repository: if a change moves them on
# purpose, every recorded run is out of date and reruns (bump runner/plan/spec.py FORMAT then)
PINNED = ("57891bb7", "088b1784")   # the hash as mso 0.1.0 made it before identities


def test_the_spec_hash_and_identities_do_not_move_unless_meant_to(tmp_path: Path) -> None:
    for folder in ("applications/solver", "experiments", "infrastructures", "datasets"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "applications" / "solver.yaml").write_text(APP)
    (tmp_path / "applications" / "solver" / "solve.py").write_text("print('solved')\n")
    (tmp_path / "experiments" / "sweep.yaml").write_text(EXPERIMENT)
    repo = load_valid(tmp_path)
    p = plan(repo, repo.experiments["sweep"])
    assert (p.spec_hash[:8], p.tasks[0].identity[:8]) == PINNED
