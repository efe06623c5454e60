"""Checks across files, on a copy of the example repository loaded in-process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.declarations import crossref, repository

EXP_HEAD = "name: {name}\napplication: heat\ninputs: {{initial: gaussian-bump}}\n"


def load(repo: Path) -> list[str]:
    return [e.render() for e in repository.load(repo).errors]


def experiment(repo: Path, name: str, body: str) -> list[str]:
    (repo / "experiments" / f"{name}.yaml").write_text(EXP_HEAD.format(name=name) + body)
    return [e for e in load(repo) if e.startswith(f"experiments/{name}.yaml")]


def application(repo: Path, text: str, name: str = "app") -> list[str]:
    (repo / "applications" / f"{name}.yaml").write_text(text)
    return [e for e in load(repo) if e.startswith(f"applications/{name}.yaml")]


APP = """\
name: app
version: "1"
description: a test application
command: [run, "{a}", "{b}"]
parameters:
  type: object
  properties:
    a: {type: integer, minimum: 0, default: 1}
    b: {type: string, default: x}
"""


@pytest.mark.parametrize("path, why", [
    ("out/x.npy", ""), ("out/*.json", ""), ("./a", ""), ("a..b", ""),
    ("../x", "it climbs out with '..'"), ("out/../../x", "it climbs out with '..'"),
    ("/etc/passwd", "it is absolute"), ("~/x", "it is absolute"), ("", "it is empty"),
    ("a\nb", "it contains a newline or NUL"), ("a\x00", "it contains a newline or NUL"),
])
def test_unsafe_path(path: str, why: str) -> None:
    assert crossref.unsafe_path(path) == why


def test_the_example_is_valid(example: Path) -> None:
    assert load(example) == []


def test_unknown_references_with_did_you_mean(example: Path) -> None:
    found = experiment(example, "e", "infrastructure: locl\nsteps:\n"
                                     "  - {name: a, application: haet}\n"
                                     "  - {name: b, needs: [c]}\n")
    assert "experiments/e.yaml:4:17: infrastructure: unknown infrastructure 'locl' (did you " \
           "mean 'local'?)" in found
    assert "experiments/e.yaml:6:28: steps[0].application: unknown application 'haet' (did you " \
           "mean 'heat'?)" in found
    assert "experiments/e.yaml:7:22: steps[1].needs: unknown step 'c' (steps: a, b)" in found


def test_cycle_is_told_in_needs_order(example: Path) -> None:
    found = experiment(example, "e", "steps:\n  - {name: a, needs: [c]}\n  - {name: b, needs: [a]}\n"
                                     "  - {name: c, needs: [b]}\n  - {name: d, needs: [d]}\n")
    assert any("steps[0].needs: the steps' `needs` form a cycle: a needs c, c needs b, b needs a"
               in e for e in found), found


def test_unbound_input_points_at_the_application(example: Path) -> None:
    (example / "experiments" / "e.yaml").write_text("name: e\napplication: heat\n")
    assert "experiments/e.yaml:2:14: application: input 'initial' of heat is not bound (add " \
           "`inputs: {initial: <dataset>}`)" in load(example)


def test_step_output_binding(example: Path) -> None:
    found = experiment(example, "e", "steps:\n  - {name: a}\n  - name: b\n"
                                     "    inputs: {initial: {step: a, path: ../x}}\n")
    assert found == [
        "experiments/e.yaml:7:30: steps[1].inputs.initial.step: step 'a' is not among the steps "
        "'b' needs (add it to `needs`)",
        "experiments/e.yaml:7:39: steps[1].inputs.initial.path: path escapes the step's work dir: "
        "it climbs out with '..'"]


def test_parameters_are_checked_after_defaults(example: Path) -> None:
    application(example, APP.replace("    a: {", "    c: {type: integer}\n    a: {") +
                "  required: [c]\n")
    (example / "experiments" / "e.yaml").write_text("name: e\napplication: app\n")
    assert "experiments/e.yaml:1:1: parameters: parameter 'c' of app is required (set it in " \
           "`parameters: {c: ...}`)" in load(example)


def test_matrix_values_are_placed_one_by_one(example: Path) -> None:
    application(example, APP)
    (example / "experiments" / "e.yaml").write_text(
        "name: e\napplication: app\nparameters: {b: 3}\nmatrix:\n  a: [0, -1, 2, -3]\n")
    found = load(example)
    assert found == ["experiments/e.yaml:3:17: parameters.b: expected a string, got an integer "
                     "(put the value in quotes to make it a string)",
                     "experiments/e.yaml:5:10: matrix.a[1]: -1 is too small: the minimum is 0",
                     "experiments/e.yaml:5:17: matrix.a[3]: -3 is too small: the minimum is 0"]


def test_constraints_across_parameters_check_whole_points(example: Path) -> None:
    application(example, APP + "  if: {properties: {a: {const: 2}}}\n"
                               "  then: {properties: {b: {const: even}}}\n")
    (example / "experiments" / "e.yaml").write_text(
        "name: e\napplication: app\nmatrix:\n  a: [1, 2]\n")
    assert load(example) == ["experiments/e.yaml:1:1: parameters.b: must be 'even', not 'x'"]


def test_a_parameter_also_swept(example: Path) -> None:
    found = experiment(example, "e", "parameters: {n: 64}\nmatrix: {n: [32]}\n")
    assert found == ["experiments/e.yaml:4:14: parameters.n: 'n' is also swept by the matrix, "
                     "whose values win (remove it from `parameters`)"]


def test_exclude_must_name_matrix_keys_and_values(example: Path) -> None:
    found = experiment(example, "e", "matrix:\n  n: [32, 64]\n  exclude:\n"
                                     "    - {n: 33}\n    - {nn: 32}\n")
    assert found == [
        "experiments/e.yaml:7:11: matrix.exclude[0].n: 33 is not among the values of matrix.n, "
        "so this excludes nothing",
        "experiments/e.yaml:8:8: matrix.exclude[1].nn: 'nn' is not a matrix key (did you mean 'n'?)"]


def test_defaults_are_checked_in_the_application(example: Path) -> None:
    found = application(example, APP.replace("default: 1}", "default: -1}")
                        .replace("default: x}", 'default: "x\\ny"}'))
    assert found == [
        "applications/app.yaml:8:45: parameters.properties.a.default: -1 is too small: the "
        "minimum is 0",
        "applications/app.yaml:9:32: parameters.properties.b.default: a value that reaches the job "
        "script may not contain a newline, carriage return or NUL (keep each value on one line)"]


def test_placeholders_name_parameters_and_inputs(example: Path) -> None:
    found = application(example, APP.replace('"{b}"]', '"{c}", "{inputs.x}", "{"]'))
    assert [e.split(": ", 2)[2] for e in found] == [
        "unknown parameter 'c' (parameters: a, b)", "unknown input 'x'",
        "bad placeholder: Single '{' encountered in format string (write a literal brace as {{ or "
        "}})"]


def test_container_recipe_must_exist_inside(example: Path) -> None:
    found = application(example, APP + "container: {build: {dockerfile: applications/app/None}}\n")
    assert found == ["applications/app.yaml:10:33: container.build.dockerfile: "
                     "'applications/app/None' does not exist (paths are relative to the "
                     "repository's top folder)"]
    found = application(example, APP + "container: {build: {definition: ../x.def}}\n")
    assert "leaves the repository: it climbs out with '..'" in found[0]


def test_symlinks_out_of_an_application_folder(example: Path, tmp_path: Path) -> None:
    folder = example / "applications" / "heat"
    (folder / "inside").symlink_to("heat.py")
    (folder / "sub").mkdir()
    (folder / "sub" / "key").symlink_to(tmp_path)
    (folder / "dangling").symlink_to(tmp_path / "nothing")
    found = load(example)
    assert sorted(found) == [
        f"applications/heat.yaml:2:7: name: applications/heat/dangling is a broken symlink (to "
        f"{tmp_path}/nothing) (copy the file into the repository instead)",
        f"applications/heat.yaml:2:7: name: applications/heat/sub/key is a symlink to {tmp_path}, "
        "outside the repository (copy the file into the repository instead)"]


def test_application_folder_that_is_a_symlink_out(example: Path, tmp_path: Path) -> None:
    application(example, APP)
    (example / "applications" / "app").symlink_to(tmp_path)
    assert any("applications/app is a symlink to" in e for e in load(example))


def test_dataset_locations(example: Path, tmp_path: Path) -> None:
    data = example / "datasets" / "data"
    (data / "out").symlink_to(tmp_path)
    (data / "dir").mkdir()
    (data / "dir" / "leak").symlink_to("/etc/passwd")
    for name, location in (("a", "datasets/data/out/x"), ("b", "datasets/data/dir"),
                           ("c", "datasets/missing.json"), ("d", "/etc/passwd"),
                           ("e", "s3remote:bucket/x"), ("f", "https://example.org/x")):
        (example / "datasets" / f"{name}.yaml").write_text(
            f"name: {name}\ndescription: d\nlocation: {location}\n")
    found = load(example)
    assert found == [
        f"datasets/a.yaml:3:11: location: 'datasets/data/out/x' is a symlink to {tmp_path}, "
        "outside the repository (copy the data into the repository or give a URL or an rclone "
        "remote)",
        "datasets/b.yaml:3:11: location: datasets/data/dir/leak is a symlink to /etc/passwd, outside "
        "the repository (datasets are copied with their links followed)",
        "datasets/c.yaml:3:11: location: 'datasets/missing.json' does not exist (commit the file or "
        "give a URL or an rclone remote)",
        "datasets/d.yaml:3:11: location: location '/etc/passwd' leaves the repository: it is "
        "absolute",
        "datasets/e.yaml:3:11: location: the rclone remote 's3remote' is not configured: give "
        "RCLONE_CONFIG_S3REMOTE_TYPE (and its other settings) under credentials (a secret as "
        "{env: NAME}, a setting such as TYPE or URL as its value; `mso dataset add` writes them "
        "from the RCLONE_CONFIG_* variables set)"]


def test_broken_declarations_are_not_also_unknown(example: Path) -> None:
    (example / "datasets" / "gaussian-bump.yaml").write_text("name: gaussian-bump\n")
    (example / "infrastructures" / "local.yaml").write_text("name: local\nkind: none\n")
    found = load(example)
    assert [e.split(":")[0] for e in found] == ["datasets/gaussian-bump.yaml",
                                                "infrastructures/local.yaml"]


def test_version_must_match(example: Path) -> None:
    text = (example / "experiments" / "heat-sweep.yaml").read_text()
    (example / "experiments" / "heat-sweep.yaml").write_text(
        text.replace("application: heat@", "application: heat@0"))
    [err] = load(example)
    assert "is not declared: applications/heat.yaml has version" in err
    assert "(write `application: heat@" in err


def test_values_reaching_the_job_script(example: Path) -> None:
    found = experiment(example, "e", 'parameters: {cfl: "0.1\\r"}\nsteps:\n'
                                     '  - {name: s, parameters: {"n\\n": 1}}\n')
    assert "experiments/e.yaml:4:19: parameters.cfl: a value that reaches the job script may " \
           "not contain a newline, carriage return or NUL (keep each value on one line)" in found
    assert "experiments/e.yaml:6:28: steps[0].parameters.n\\n: a value that reaches the job " \
           "script may not contain a newline, carriage return or NUL" in found
    assert all("\n" not in e for e in found)  # names are escaped: one error, one line


def test_no_symlink_checks_follow_loops(example: Path) -> None:
    folder = example / "applications" / "heat"
    os.symlink("loop2", folder / "loop1")
    os.symlink("loop1", folder / "loop2")
    found = load(example)
    assert len(found) == 2 and all("is a broken symlink (to loop" in e for e in found)


def test_matrix_keys_of_any_steps_application(example: Path) -> None:
    application(example, APP)
    found = experiment(example, "e", "steps:\n  - {name: s}\n  - {name: t, application: app}\n"
                                     "matrix: {a: [1], n: [32], zz: [0]}\n")
    [err] = found  # `a` is app's, `n` is heat's: both are fine
    assert err.startswith("experiments/e.yaml:7:27: matrix.zz: unknown parameter 'zz' (parameters "
                          "of heat, app: a, b, ")


def test_scheduler_options_are_checked_against_the_steps_scheduler(tmp_path) -> None:
    """An sbatch option the Slurm backend would refuse is an error at validate time already."""
    import shutil
    from pathlib import Path

    from runner.declarations.repository import load
    root = Path(__file__).resolve().parents[2]
    for folder in ("applications", "datasets", "infrastructures", "experiments"):
        shutil.copytree(root / folder, tmp_path / folder)
    (tmp_path / "infrastructures" / "hpc.yaml").write_text(
        "name: hpc\nkind: slurm\nhost: h\nuser: ana\nknown_hosts: {env: K}\nwork_root: /w\n")
    exp = tmp_path / "experiments" / "heat-sweep.yaml"
    exp.write_text(exp.read_text().replace("infrastructure: local", "infrastructure: hpc").replace(
        'walltime: "00:10:00"}', 'walltime: "00:10:00", slurm: {qso: short, mem: 2G, qos: long}}'))
    messages = [e.render() for e in load(tmp_path).errors]
    assert len(messages) == 2, messages
    [mem] = [m for m in messages if "resources.slurm.mem:" in m]
    [qso] = [m for m in messages if "resources.slurm.qso:" in m]
    assert "slurm does not take the option 'mem'" in mem and "(declare it as resources.memory)" in mem
    assert "(did you mean 'qos'?)" in qso
