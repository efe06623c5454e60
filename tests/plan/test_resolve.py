"""Planning: tasks from a matrix, command lines, and what the spec hash covers."""

from __future__ import annotations

from pathlib import Path

from runner.plan.resolve import plan, render_argv
from runner.declarations.repository import load_valid


def test_example_plan_has_one_task_per_point(example: Path) -> None:
    repo = load_valid(example)
    p = plan(repo, repo.experiments["heat-sweep"])
    assert [t.id for t in p.tasks] == [f"main-{i:04d}" for i in range(6)]
    t = p.tasks[5]
    assert dict(t.parameters) == {"nu": 0.2, "n": 64, "t_end": 0.1, "cfl": 0.2}
    assert t.argv[t.argv.index("--init") + 1] == "inputs/initial/gaussian-bump.json"
    assert p.datasets == {"gaussian-bump": repo.datasets["gaussian-bump"].sha256}


def _hash(repo_dir: Path) -> str:
    repo = load_valid(repo_dir)
    return plan(repo, repo.experiments["heat-sweep"]).spec_hash


def test_spec_hash_covers_code_data_and_parameters_not_prose(example: Path) -> None:
    base = _hash(example)
    app = example / "applications" / "heat.yaml"
    app.write_text(app.read_text().replace("description: Explicit", "description: An explicit"))
    assert _hash(example) == base, "a description does not change results"
    code = example / "applications" / "heat" / "heat.py"
    code.write_text(code.read_text() + "\n# changed\n")
    changed_code = _hash(example)
    assert changed_code != base, "the application's files change results"
    exp = example / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("n: [32, 64]", "n: [32, 128]"))
    assert _hash(example) != changed_code


def test_argv_values_stay_single_arguments() -> None:
    argv = render_argv(("run", "{a}", "--flag={b}", "{c}"), {"a": "x y; rm -rf /", "b": True, "c": 2.5},
                       {}, "exp.yaml")
    assert argv == ("run", "x y; rm -rf /", "--flag=true", "2.5")
