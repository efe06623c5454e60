"""Loading a whole repository into frozen records, and the files that count as declarations."""

from __future__ import annotations

import dataclasses
import gc
import random
import sys
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from runner.errors import SpecErrors
from runner.declarations import repository, yamlload
from runner.declarations.models import Application, EnvRef, Experiment, InputBinding


def test_declaration_files(example: Path) -> None:
    (example / "experiments" / ".#heat-sweep.yaml").symlink_to("nowhere")  # an editor's lock
    (example / "experiments" / "notes.txt").write_text("x")
    (example / "experiments" / "sub.yaml").mkdir()
    (example / "experiments" / "other.yml").write_text("name: other\n")
    found = [(k, p.relative_to(example).as_posix()) for k, p in
             repository.declaration_files(example)]
    assert ("experiment", "experiments/other.yml") in found
    assert ("experiment", "experiments/heat-sweep.yaml") in found
    assert not any("notes" in p or ".#" in p or "sub.yaml" in p for _, p in found)
    assert {k for k, _ in found} == set(repository.FOLDERS)


def test_kind_of(example: Path) -> None:
    assert repository.kind_of(example / "experiments" / "x.yaml", example) == "experiment"
    assert repository.kind_of(example / "applications" / "heat" / "x.yaml", example) is None
    assert repository.kind_of(example / "book" / "x.yaml", example) is None
    assert repository.kind_of(Path("/elsewhere/experiments/x.yaml"), example) is None


def test_records_are_frozen(example: Path) -> None:
    repo = repository.load_valid(example)
    app = repo.applications["heat"]
    exp = repo.experiments["heat-sweep"]
    assert isinstance(app, Application) and isinstance(exp, Experiment)
    with pytest.raises(dataclasses.FrozenInstanceError):
        app.version = "2"  # type: ignore[misc]
    assert isinstance(app.parameters, MappingProxyType)
    with pytest.raises(TypeError):
        app.parameters["properties"]["nu"] = {}  # type: ignore[index]
    assert isinstance(exp.inputs["initial"], InputBinding)
    assert all(isinstance(values, tuple) for _, values in exp.matrix)
    assert exp.path == "experiments/heat-sweep.yaml"


def test_secrets_are_references(example: Path) -> None:
    (example / "infrastructures" / "c.yaml").write_text(
        "name: c\nkind: slurm\nhost: h\nuser: {env: U}\nknown_hosts: {env: K}\nwork_root: /w\n")
    infra = repository.load_valid(example).infrastructures["c"]
    assert infra.user == EnvRef("U") and infra.known_hosts == EnvRef("K")


def test_load_valid_raises_every_error_sorted(example: Path) -> None:
    (example / "experiments" / "b.yaml").write_text("name: b\napplication: nope\n")
    (example / "experiments" / "a.yaml").write_text("- a list\n")
    with pytest.raises(SpecErrors) as info:
        repository.load_valid(example)
    assert [e.where.path for e in info.value.errors] == ["experiments/a.yaml",
                                                         "experiments/b.yaml"]


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(SpecErrors, match="not an mso repository"):
        repository.load_valid(tmp_path)


def test_name_is_the_file_name(example: Path) -> None:
    path = example / "experiments" / "heat-sweep.yaml"
    path.write_text(path.read_text().replace("name: heat-sweep", "name: other"))
    [err] = repository.load(example).errors
    assert err.render().endswith("name: the name 'other' differs from the file name (name the "
                                 "file other.yaml or set `name: heat-sweep`)")


def test_declared_twice(example: Path) -> None:
    text = (example / "experiments" / "heat-sweep.yaml").read_text()
    (example / "experiments" / "heat-sweep.yml").write_text(text)
    [err] = repository.load(example).errors
    assert "experiment 'heat-sweep' is declared twice (also in experiments/heat-sweep.yaml)" \
        in err.render()


def test_symlinked_declaration_out_of_the_repository(example: Path, tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("name: x\nkind: local\n")
    (example / "infrastructures" / "x.yaml").symlink_to(tmp_path / "x.yaml")
    [err] = repository.load(example).errors
    assert err.render().startswith("infrastructures/x.yaml:1:1: the file is a symlink to ")


def module_state() -> dict[str, int]:
    """The size of every container the YAML loader keeps at module or class level."""
    found = {}
    for name, value in vars(yamlload).items():
        if name.startswith("__"):
            continue
        found |= {name: len(value)} if isinstance(value, (dict, list, set)) else {}
        if isinstance(value, type) and value.__module__ == yamlload.__name__:
            found |= {f"{name}.{k}": len(v) for k, v in vars(value).items()
                      if isinstance(v, (dict, list, set))}
    return found


def test_two_loads_share_no_loader_state(example: Path) -> None:
    """Each load has caches of its own: nothing the loader keeps between loads grows, and a
    second load of a changed file sees the change."""
    path = example / "infrastructures" / "c.yaml"
    text = ("name: c\nkind: slurm\nhost: h\nuser: u\nknown_hosts: {{env: K}}\nwork_root: /w\n"
            "description: {word}\nlimits: {{max_parallel: {n}}}\n")
    path.write_text(text.format(word="never-loaded-before-9d41", n=987651))
    before = module_state()
    first = repository.load_valid(example).infrastructures["c"]
    assert module_state() == before
    path.write_text(text.format(word="changed-9d41", n=987652))
    second = repository.load_valid(example).infrastructures["c"]
    assert (first.max_parallel, first.description) == (987651, "never-loaded-before-9d41")
    assert (second.max_parallel, second.description) == (987652, "changed-9d41")


def test_loading_never_switches_the_collector(example: Path) -> None:
    """The collector is process-wide state: loading must not turn it off, even for a while."""
    calls: list[str] = []

    def watch(frame: object, event: str, arg: object) -> None:
        if event == "c_call" and getattr(arg, "__module__", None) == "gc":
            calls.append(arg.__name__)  # type: ignore[attr-defined]

    sys.setprofile(watch)
    try:
        repository.load(example)
    finally:
        sys.setprofile(None)
    assert calls == []


def test_the_collector_is_back_on_after_loading(example: Path) -> None:
    assert gc.isenabled()
    repository.load(example)
    assert gc.isenabled()
    gc.disable()
    try:
        repository.load(example)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_garbage_in_never_raises(example: Path) -> None:
    texts = ["{", "name: [", "a: *nope", "name: x\n  bad: indent", "\ufeffname: x\n", "\x85",
             "name: &a [*a]", "%YAML 9.9\n---\na: 1\n", "? a\n? a\n", "name: 1e999999\n"]
    for i, text in enumerate(texts):
        (example / "experiments" / f"g{i}.yaml").write_text(text)
    errors = repository.load(example).errors
    assert {e.where.path for e in errors} == {f"experiments/g{i}.yaml" for i in range(len(texts))}


def test_mangled_text_never_raises(example: Path) -> None:
    """Characters inserted, dropped and copied at random: errors, never an exception."""
    rng = random.Random(1)
    files = sorted(example.glob("*/*.yaml"))
    texts = {p: p.read_text() for p in files}
    pieces = list(":-[]{}*&!\t\0\"'#|>?,%@`\n ") + ["\n  ", "- ", "<<: ", "!!str", ".nan"]
    for _ in range(150):
        for path, text in texts.items():
            for _ in range(rng.randint(0, 3)):
                i = rng.randrange(len(text) + 1)
                text = rng.choice([text[:i] + rng.choice(pieces) + text[i:],
                                   text[:i] + text[i + rng.randint(1, 8):],
                                   text[:i] + text[rng.randrange(len(text)):][:20] + text[i:]])
            path.write_text(text)
        for err in repository.load(example).errors:
            assert "\n" not in err.render()


def test_mangled_values_never_raise(example: Path) -> None:
    """Schema-shaped documents with values swapped at random: errors, never an exception."""
    from tests.declarations.test_construct import FULL
    from tests.declarations.test_fastcheck import POOL, mutate

    docs = {p: yaml.safe_load(p.read_text()) for p in example.glob("*/*.yaml")}
    docs[example / "applications" / "a.yaml"] = yaml.safe_load(FULL["application"])
    docs[example / "experiments" / "e.yaml"] = {**yaml.safe_load(FULL["experiment"]),
                                                "application": "a"}
    pool = POOL + ["heat", "gaussian-bump", "local", "a", "s", "t", "../x", "{n}", "{", -0.0]
    keys = ["parameters", "matrix", "steps", "inputs", "needs", "exclude", "const", "default",
            "properties", "required", "outputs", "location", "application"]
    rng = random.Random(2)
    for _ in range(150):
        for path, doc in docs.items():
            if rng.random() < 0.5:
                doc = mutate(doc, rng, keys, pool)
            path.write_text(yaml.safe_dump(doc))
        repository.load(example)


def test_a_mapping_where_a_parameter_value_goes_is_an_error(example: Path) -> None:
    """The loaded declarations are frozen: the error names a map, not Python's mappingproxy (and
    the compiled checker, which refuses such types, never sees one)."""
    exp = example / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("parameters: {t_end: 0.1}", "parameters: {t_end: {image: i}}"))
    errors = [e.render() for e in repository.load(example).errors]
    assert len(errors) == 1 and "experiments/heat-sweep.yaml:" in errors[0], errors
    assert "parameters.t_end: expected a number, got a map" in errors[0], errors
