"""End to end: `mso validate` on a copy of the example repository, broken one way per test.

Every test runs the real command as a process and checks the file, the line, the gist of the
message, the exit code and that no traceback escaped.
"""

from __future__ import annotations

import json
import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import mso

EXP = "experiments/heat-sweep.yaml"
APP = "applications/heat.yaml"
DS = "datasets/gaussian-bump.yaml"


def validate(repo: Path, *args: str, **kw):
    return mso("validate", *args, repo=repo, timeout=60, **kw)


def error_lines(result) -> list[str]:
    return [ln for ln in result.stdout.splitlines() if re.match(r"^\S+:\d+:\d+: ", ln)]


def assert_error(result, path: str, line: int, *fragments: str) -> str:
    """The run failed cleanly and reported `fragments` at `path:line`; returns that error line."""
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 1, (result.stdout, result.stderr)
    found = [ln for ln in error_lines(result) if ln.startswith(f"{path}:{line}:")
             and all(f in ln for f in fragments)]
    assert found, f"no {fragments} at {path}:{line} in:\n{result.stdout}{result.stderr}"
    return found[0]


def line_of(repo: Path, rel: str, pattern: str) -> int:
    """1-based number of the first line of a file matching a regular expression."""
    for i, text in enumerate((repo / rel).read_text().splitlines(), 1):
        if re.search(pattern, text):
            return i
    raise AssertionError(f"{pattern!r} not in {rel}")


def edit(repo: Path, rel: str, old: str, new: str) -> None:
    path = repo / rel
    text = path.read_text()
    assert re.search(old, text, re.M), f"{old!r} not in {rel}"
    path.write_text(re.sub(old, lambda _: new, text, count=1, flags=re.M))


def write(repo: Path, rel: str, text: str | bytes) -> None:
    path = repo / rel
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


def exp(name: str, body: str = "") -> str:
    """A small valid experiment of the example application, plus `body`."""
    return f"name: {name}\napplication: heat\ninputs: {{initial: gaussian-bump}}\n{body}"


def test_the_example_is_valid(example: Path) -> None:
    result = validate(example)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all valid" in result.stderr


# --- bad YAML ---------------------------------------------------------------------------------

def test_yaml_syntax_error(example: Path) -> None:
    write(example, "experiments/syntax.yaml", exp("syntax", "description: a: b\n"))
    assert_error(validate(example), "experiments/syntax.yaml", 4, "YAML syntax error")


def test_tab_indentation(example: Path) -> None:
    write(example, "experiments/tabs.yaml", "name: tabs\napplication: heat\nresources:\n\ttasks: 2\n")
    assert_error(validate(example), "experiments/tabs.yaml", 4, "tabs")


def test_duplicate_key(example: Path) -> None:
    write(example, "experiments/dup.yaml", exp("dup", "name: dup\n"))
    assert_error(validate(example), "experiments/dup.yaml", 4, "duplicate key 'name'",
                 "first at line 1")


@pytest.mark.parametrize("raw, line, fragment", [
    (b"name: latin\napplication: heat\ndescription: caf\xe9\n", 3, "not valid UTF-8"),
    (b"name: bin\n\x00\x01\x02\xff", 2, "binary"),
], ids=["latin-1", "binary"])
def test_not_utf8_text(example: Path, raw: bytes, line: int, fragment: str) -> None:
    write(example, "experiments/enc.yaml", raw)
    assert_error(validate(example), "experiments/enc.yaml", line, fragment)


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n", "---\n"],
                         ids=["zero-bytes", "blank", "comment", "document-marker"])
def test_empty_file(example: Path, text: str) -> None:
    write(example, "experiments/empty.yaml", text)
    assert_error(validate(example), "experiments/empty.yaml", 1, "empty")


@pytest.mark.parametrize("text, word", [("- name: x\n- name: y\n", "a list"),
                                        ("just words\n", "a string")], ids=["list", "scalar"])
def test_top_level_not_a_map(example: Path, text: str, word: str) -> None:
    write(example, "experiments/top.yaml", text)
    assert_error(validate(example), "experiments/top.yaml", 1, "expected a map", word)


def test_billion_laughs_is_refused_fast(example: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 9)}]")
    write(example, "experiments/lol.yaml", "\n".join(lines) + "\n")
    start = time.monotonic()
    result = validate(example)
    assert time.monotonic() - start < 2
    found = [ln for ln in error_lines(result) if ln.startswith("experiments/lol.yaml:")]
    assert len(found) == 1 and "aliases" in found[0], result.stdout
    assert 2 <= int(found[0].split(":")[1]) <= 9  # at the key that expands too far
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_deep_nesting(example: Path) -> None:
    write(example, "experiments/deep.yaml", exp("deep", "parameters:\n  nu: " + "[" * 200
                                                + "]" * 200 + "\n"))
    assert_error(validate(example), "experiments/deep.yaml", 5, "nested more than")


def test_deep_block_nesting(example: Path) -> None:
    body = "parameters:\n  nu:\n" + "".join("  " * (i + 2) + "-\n" for i in range(300))
    write(example, "experiments/deep.yaml", exp("deep", body))
    result = validate(example)
    [line] = [ln for ln in error_lines(result) if ln.startswith("experiments/deep.yaml:")]
    assert "nested more than" in line and result.returncode == 1
    assert "Traceback" not in result.stderr


def test_huge_file_is_refused(example: Path) -> None:
    write(example, "experiments/huge.yaml", exp("huge", "description: " + "x" * (5 << 20) + "\n"))
    start = time.monotonic()
    result = validate(example)
    assert time.monotonic() - start < 3
    assert_error(result, "experiments/huge.yaml", 1, "5.0 MB", "at most")


def test_python_tags_never_execute(example: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    write(example, "experiments/evil.yaml",
          f'name: evil\napplication: !!python/object/apply:os.system ["touch {marker}"]\n')
    write(example, "experiments/evil2.yaml", f'!!python/object/apply:os.system ["touch {marker}"]\n')
    result = validate(example)
    assert not marker.exists()
    assert_error(result, "experiments/evil.yaml", 2, "!!python/object/apply:os.system",
                 "not allowed")
    assert_error(result, "experiments/evil2.yaml", 1, "!!python/object/apply:os.system")


# --- wrong content ----------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, crumb, message", [
    (r"^  nu: \[.*\]$", "  nu: fast", "matrix.nu", "expected a list, got a string"),
    (r"^resources: \{tasks: 1,", "resources: {tasks: four,", "resources.tasks",
     "expected an integer, got a string"),
    (r"^tags: \[example\]$", "tags: example", "tags", "expected a list, got a string"),
], ids=["matrix", "resources", "tags"])
def test_wrong_type(example: Path, old: str, new: str, crumb: str, message: str) -> None:
    line = line_of(example, EXP, old)
    edit(example, EXP, old, new)
    err = assert_error(validate(example), EXP, line, message)
    assert f": {crumb}: " in err


def test_unknown_key_did_you_mean(example: Path) -> None:
    line = line_of(example, EXP, r"^matrix:")
    edit(example, EXP, r"^matrix:", "matirx:")
    err = assert_error(validate(example), EXP, line, "unknown key 'matirx'", "did you mean 'matrix'?")
    assert err.startswith(f"{EXP}:{line}:1: matirx: ")


def test_missing_required_key(example: Path) -> None:
    edit(example, EXP, r"^application: .*\n", "")
    first = line_of(example, EXP, r"^[a-z]")
    assert_error(validate(example), EXP, first, "missing required key 'application'")


def test_unknown_application_did_you_mean(example: Path) -> None:
    line = line_of(example, EXP, r"^application:")
    edit(example, EXP, r"^application: heat", "application: haet")
    assert_error(validate(example), EXP, line, "unknown application 'haet'",
                 "did you mean 'heat'?")


@pytest.mark.parametrize("old, new, key, message", [
    (r"initial: gaussian-bump", "initial: gausian-bump", "inputs",
     "unknown dataset 'gausian-bump' (did you mean 'gaussian-bump'?)"),
    (r"^infrastructure: local", "infrastructure: clustre", "infrastructure",
     "unknown infrastructure 'clustre'"),
    (r"^application: heat@[^\s]+", "application: heat@9.9", "application", "heat@9.9 is not declared"),
], ids=["dataset", "infrastructure", "version"])
def test_dangling_reference(example: Path, old: str, new: str, key: str, message: str) -> None:
    line = line_of(example, EXP, old)
    edit(example, EXP, old, new)
    assert_error(validate(example), EXP, line, message)


def test_needs_cycle(example: Path) -> None:
    write(example, "experiments/chain.yaml", exp("chain", (
        "steps:\n"
        "  - {name: prepare, needs: [report]}\n"
        "  - {name: solve, needs: [prepare]}\n"
        "  - {name: report, needs: [solve]}\n")))
    assert_error(validate(example), "experiments/chain.yaml", 5, "`needs` form a cycle",
                 "prepare needs report, report needs solve, solve needs prepare")


@pytest.mark.parametrize("body, line, crumb, message", [
    ("matrix: {nu: [0.1, -1]}\n", 4, "matrix.nu[1]", "-1 is too small: it must be more than 0"),
    ("parameters: {n: 4}\n", 4, "parameters.n", "4 is too small: the minimum is 8"),
    ("parameters: {n: 9000}\n", 4, "parameters.n", "9000 is too large: the maximum is 4096"),
    ("parameters: {n: 3.5}\n", 4, "parameters.n", "expected an integer, got a number"),
    ("parameters: {nus: 1}\n", 4, "parameters.nus", "unknown parameter 'nus' (did you mean 'nu'?)"),
], ids=["matrix-below-exclusive-minimum", "below-minimum", "above-maximum", "type",
        "unknown-name"])
def test_parameter_out_of_bounds(example: Path, body: str, line: int, crumb: str,
                                 message: str) -> None:
    write(example, "experiments/bounds.yaml", exp("bounds", body))
    err = assert_error(validate(example), "experiments/bounds.yaml", line, message)
    assert f": {crumb}: " in err


def test_parameter_default_out_of_bounds_is_the_applications_fault(example: Path) -> None:
    line = line_of(example, APP, r"^    n: ")
    edit(example, APP, r"^    n: \{type: integer, minimum: 8,", "    n: {type: integer, minimum: 100,")
    result = validate(example)
    assert_error(result, APP, line, "parameters.properties.n.default", "the minimum is 100")


@pytest.mark.parametrize("rel, old, new, message", [
    (APP, r"^outputs: \[", "outputs: [../../etc/passwd, ", "climbs out with '..'"),
    (APP, r"^outputs: \[", "outputs: [/etc/passwd, ", "it is absolute"),
    (APP, r"^  - path: [^\s]+", "  - path: ../heat.log", "climbs out with '..'"),
    (DS, r"^location: .*", "location: ../outside.json", "leaves the repository"),
], ids=["output-dotdot", "output-absolute", "log-path", "dataset-location"])
def test_paths_escaping_the_run_directory(example: Path, rel: str, old: str, new: str,
                                          message: str) -> None:
    line = line_of(example, rel, old)
    edit(example, rel, old, new)
    assert_error(validate(example), rel, line, message)


def test_input_path_from_a_step_escaping(example: Path) -> None:
    write(example, "experiments/steps.yaml", exp("steps", (
        "steps:\n"
        "  - {name: first}\n"
        "  - name: second\n"
        "    needs: [first]\n"
        "    inputs: {initial: {step: first, path: ../../secret}}\n")))
    assert_error(validate(example), "experiments/steps.yaml", 8, "climbs out with '..'")


def test_symlinked_dataset_leaving_the_repository(example: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    target = example / "datasets" / "data" / "linked.json"
    target.symlink_to(outside)
    write(example, "datasets/linked.yaml",
          "name: linked\ndescription: a link out\nlocation: datasets/data/linked.json\n")
    assert_error(validate(example), "datasets/linked.yaml", 3, "symlink", "outside the repository")


def test_symlinked_application_file_leaving_the_repository(example: Path) -> None:
    (example / "applications" / "heat" / "passwd").symlink_to("/etc/passwd")
    err = assert_error(validate(example), APP, line_of(example, APP, r"^name:"),
                       "applications/heat/passwd", "symlink", "outside the repository")
    assert "/etc/passwd" in err


@pytest.mark.parametrize("body, line, crumb", [
    ('parameters: {n: 64, nu: 0.1}\nmatrix: {cfl: ["0.1\\nrm -rf /"]}\n', 5, "matrix.cfl[0]"),
    ('parameters: {nu: "0.1\\u0000"}\n', 4, "parameters.nu"),
], ids=["newline", "nul"])
def test_newline_or_nul_reaching_the_job_script(example: Path, body: str, line: int,
                                               crumb: str) -> None:
    write(example, "experiments/inject.yaml", exp("inject", body))
    err = assert_error(validate(example), "experiments/inject.yaml", line, "newline")
    assert f": {crumb}: " in err


@pytest.mark.parametrize("old, new, crumb", [
    (r'^environment: \{OMP_NUM_THREADS: "1"\}', 'environment: {OMP_NUM_THREADS: "1\\nexit"}',
     "environment.OMP_NUM_THREADS"),
    (r"^command: \[python,", 'command: ["python\\u0000",', "command[0]"),
], ids=["environment", "command"])
def test_newline_in_application_values(example: Path, old: str, new: str, crumb: str) -> None:
    line = line_of(example, APP, old)
    edit(example, APP, old, new)
    err = assert_error(validate(example), APP, line, "one line")
    assert f": {crumb}: " in err


# --- reporting --------------------------------------------------------------------------------

def test_all_errors_are_reported_at_once(example: Path) -> None:
    edit(example, EXP, r"^matrix:", "matirx:")
    write(example, "experiments/second.yaml", exp("second", "parameters: {n: 4}\n"))
    result = validate(example)
    assert_error(result, EXP, line_of(example, EXP, r"^matirx:"), "unknown key 'matirx'")
    assert_error(result, "experiments/second.yaml", 4, "too small")
    assert "2 errors" in result.stderr


def test_json_output(example: Path) -> None:
    edit(example, EXP, r"^matrix:", "matirx:")
    result = validate(example, "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    out = json.loads(result.stdout)
    assert out["ok"] is False and out["files"] == len(list(example.glob("*/*.yaml")))
    [err] = out["errors"]
    assert err == {"path": EXP, "line": line_of(example, EXP, "^matirx:"), "col": 1,
                   "breadcrumb": "matirx", "message": "unknown key 'matirx'",
                   "hint": "did you mean 'matrix'?"}


def test_json_output_when_valid(example: Path) -> None:
    result = validate(example, "--json")
    assert result.returncode == 0
    out = json.loads(result.stdout)
    assert {k: out[k] for k in ("ok", "files", "errors")} == {"ok": True, "files": 6, "errors": []}
    # heat declares a container and `local` has container_runtime: none (slurm-cluster runs it
    # in its image: no warning for heat-sweep-cluster)
    assert [w.split(": warning: ")[0] for w in out["warnings"]] == ["experiments/heat-sweep.yaml"]


def test_junit_report(example: Path, tmp_path: Path) -> None:
    edit(example, EXP, r"^matrix:", "matirx:")
    write(example, "experiments/second.yaml", "- a list\n")
    report = tmp_path / "validate.xml"
    result = validate(example, "--junit", str(report))
    assert result.returncode == 1
    suite = ET.parse(report).getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {p.relative_to(example).as_posix() for p in example.glob("*/*.yaml")}
    failed = {name for name, c in cases.items() if c.find("failure") is not None}
    assert failed == {EXP, "experiments/second.yaml"}
    assert suite.get("failures") == "2"
    assert "did you mean 'matrix'?" in cases[EXP].find("failure").get("message")


def test_given_paths_only(example: Path) -> None:
    edit(example, EXP, r"^matrix:", "matirx:")
    write(example, "experiments/second.yaml", exp("second", "parameters: {n: 4}\n"))
    result = validate(example, "experiments/second.yaml", cwd=example)
    assert_error(result, "experiments/second.yaml", 4, "too small")
    assert EXP not in result.stdout
    assert "1 file checked, 1 error" in result.stderr
    fine = validate(example, APP, cwd=example)
    assert fine.returncode == 0, fine.stdout


def test_given_path_relative_to_the_repository(example: Path, tmp_path: Path) -> None:
    write(example, "experiments/second.yaml", exp("second", "parameters: {n: 4}\n"))
    result = validate(example, "experiments/second.yaml", cwd=tmp_path)
    assert_error(result, "experiments/second.yaml", 4, "too small")


@pytest.mark.parametrize("path, message", [
    ("pyproject.toml", "not a declaration"),
    ("applications/heat/heat.py", "not a declaration"),
    ("experiments/missing.yaml", "no such file"),
], ids=["other-file", "application-file", "missing"])
def test_path_that_is_not_a_declaration(example: Path, path: str, message: str) -> None:
    (example / "pyproject.toml").write_text("[project]\n")
    (example / "applications" / "heat" / "heat.py").touch()
    result = validate(example, path, cwd=example)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{path}: {message}" in result.stdout


def test_invalid_application_does_not_make_experiments_dangle(example: Path) -> None:
    edit(example, APP, r"^version: .*", "version: [1]")
    result = validate(example)
    assert_error(result, APP, line_of(example, APP, r"^version:"), "expected a string, got a list")
    assert "unknown application" not in result.stdout


def test_fifo_declaration_does_not_hang(example: Path) -> None:
    os.mkfifo(example / "experiments" / "pipe.yaml")
    assert_error(validate(example), "experiments/pipe.yaml", 1, "not a regular file")


def test_pre_commit_hook_definition() -> None:
    import yaml

    from tests.conftest import ROOT

    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "mso-validate" and hook["language"] == "python"
    assert hook["entry"] == "mso validate" and hook["pass_filenames"] is True
    files = re.compile(hook["files"])
    for path in ("applications/heat.yaml", "experiments/a.yml", "datasets/x.yaml",
                 "infrastructures/c.yaml"):
        assert files.search(path), path
    for path in ("applications/heat/x.yaml", "book/a.yaml", "experiments/a.json",
                 "results/x/experiments/a.yaml", ".pre-commit-hooks.yaml"):
        assert not files.search(path), path


def test_as_pre_commit_runs_it(example: Path) -> None:
    """pre-commit runs `mso validate FILE...` in the repository's top folder."""
    write(example, "experiments/second.yaml", exp("second", "parameters: {n: 4}\n"))
    result = mso("validate", "experiments/second.yaml", APP, repo=Path("."), cwd=example)
    assert_error(result, "experiments/second.yaml", 4, "too small")
    assert "2 files checked, 1 error" in result.stderr


def test_not_a_repository(tmp_path: Path) -> None:
    result = validate(tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not an mso repository" in result.stderr
