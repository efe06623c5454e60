"""Candidate infrastructures (`infrastructure: [a, b]`): checked like one, and a plan's spec hash
and its points' identities are the same wherever placement sends the run."""

from __future__ import annotations

from pathlib import Path

from runner.declarations import repository
from runner.declarations.repository import load_valid
from runner.plan.resolve import plan

OTHER = "name: other\nkind: local\nwork_root: .mso/other\n"


def _candidates(repo: Path, listed: str, more: str = "") -> Path:
    (repo / "infrastructures" / "other.yaml").write_text(OTHER)
    exp = repo / "experiments" / "heat-sweep.yaml"
    text = exp.read_text()
    assert "infrastructure: local\n" in text
    exp.write_text(text.replace("infrastructure: local\n", f"infrastructure: {listed}\n{more}"))
    return repo


def _errors(repo: Path) -> list[str]:
    return [e.render() for e in repository.load(repo).errors]


def test_every_candidate_must_be_declared(example: Path) -> None:
    found = _errors(_candidates(example, "[local, othr]"))
    assert len(found) == 1 and "infrastructure[1]: unknown infrastructure 'othr' (did you " \
        "mean 'other'?)" in found[0], found


def test_placement_without_a_list_is_refused(example: Path) -> None:
    found = _errors(_candidates(example, "local", "placement: auto\n"))
    assert len(found) == 1 and "placement: placement chooses among a list of infrastructures" \
        in found[0], found


def test_the_spec_hash_and_identities_do_not_depend_on_the_choice(example: Path) -> None:
    single = load_valid(example)
    before = plan(single, single.experiments["heat-sweep"])
    repo = load_valid(_candidates(example, "[local, other]"))
    exp = repo.experiments["heat-sweep"]
    on_local, on_other = plan(repo, exp), plan(repo, exp, {("local", "other"): "other"})
    assert {t.infrastructure for t in on_local.tasks} == {"local"}
    assert {t.infrastructure for t in on_other.tasks} == {"other"}
    assert on_other.infrastructure.name == "other"
    assert on_local.spec_hash == on_other.spec_hash != before.spec_hash
    assert [t.identity for t in on_local.tasks] == [t.identity for t in on_other.tasks]
    assert on_local.tasks[0].identity != before.tasks[0].identity, "the candidates are part of it"
    other = example / "infrastructures" / "other.yaml"
    other.write_text(OTHER + "environment: {OMP_NUM_THREADS: '2'}\n")
    changed = load_valid(example)
    assert plan(changed, changed.experiments["heat-sweep"]).tasks[0].identity != \
        on_local.tasks[0].identity, "a candidate's settings that change results change points"
