"""Schema errors as sentences: the place, what is wrong and a hint, one per mistake."""

from __future__ import annotations

import pytest

from runner.declarations import schema
from runner.declarations.yamlload import parse

APP = """\
name: a
version: "1"
description: d
command: [run, "{n}"]
parameters:
  properties:
    n: {type: integer, minimum: 1, default: 2}
"""
INFRA = "name: c\nkind: slurm\nhost: h\nuser: {env: U}\nknown_hosts: {env: K}\nwork_root: /w\n"


def errors(kind: str, text: str) -> list[str]:
    return [e.render() for e in schema.check(parse(text, "x.yaml"), kind)]


def test_valid_documents_have_no_errors() -> None:
    assert errors("application", APP) == []
    assert errors("infrastructure", INFRA) == []


@pytest.mark.parametrize("container, expected", [
    ('{image: "a b"}', "x.yaml:8:20: container.image: 'a b' is not allowed here: image reference"),
    ("{image: x, build: {dockerfile: D}}",
     "x.yaml:8:12: container: 'build' and 'image' cannot be combined: give one of them"),
    ("{build: {dockerfile: D, definition: E}}",
     "x.yaml:8:20: container.build: give only one of 'dockerfile' or 'definition'"),
    ("{build: {}}", "x.yaml:8:20: container.build: missing one of the keys 'dockerfile' or "
                    "'definition'"),
    ("{imag: x}", "x.yaml:8:13: container.imag: unknown key 'imag' (did you mean 'image'?)"),
    ("{build: {dockerfil: D}}",
     "x.yaml:8:21: container.build.dockerfil: unknown key 'dockerfil' (did you mean 'dockerfile'?)"),
    ("docker.io/x", "x.yaml:8:12: container: expected a map, got a string"),
    ("{}", "x.yaml:8:12: container: missing one of the keys 'image' or 'build'"),
    ("{build: {dockerfile: 3}}",
     "x.yaml:8:33: container.build.dockerfile: expected a string, got an integer"),
])
def test_container_image_or_build(container: str, expected: str) -> None:
    [err] = errors("application", APP + f"container: {container}\n")
    assert err.startswith(expected)


@pytest.mark.parametrize("user, expected", [
    ('"Bad User"', "x.yaml:4:7: user: 'Bad User' is not allowed here: a user name"),
    ("{env: 1}", "x.yaml:4:13: user.env: expected a string, got an integer"),
    ("{evn: U}", "x.yaml:4:8: user.evn: unknown key 'evn' (did you mean 'env'?)"),
    ("{env: U, x: 1}", "x.yaml:4:16: user.x: unknown key 'x' (allowed keys: env)"),
    ("3", "x.yaml:4:7: user: expected a string or a map, got an integer (SSH user: a name, or "
          "{env: VAR})"),
])
def test_infrastructure_user_name_or_env(user: str, expected: str) -> None:
    [err] = errors("infrastructure", INFRA.replace("user: {env: U}", f"user: {user}"))
    assert err.startswith(expected)


@pytest.mark.parametrize("binding, expected", [
    ("{step: a}", "x.yaml:3:19: inputs.initial: missing required key 'path'"),
    ("{stp: a, path: p}", "x.yaml:3:20: inputs.initial.stp: unknown key 'stp' (did you mean "
                          "'step'?)"),
    ("{step: a, path: p, z: 1}", "x.yaml:3:38: inputs.initial.z: unknown key 'z'"),
    ("Bad_Name", "x.yaml:3:19: inputs.initial: 'Bad_Name' is not allowed here: a name"),
    ("3", "x.yaml:3:19: inputs.initial: expected a string or a map, got an integer"),
])
def test_input_binding_dataset_or_step_output(binding: str, expected: str) -> None:
    [err] = errors("experiment", f"name: e\napplication: a\ninputs: {{initial: {binding}}}\n")
    assert err.startswith(expected)


def test_missing_keys_needed_by_the_kind_are_said_at_once() -> None:
    [err] = errors("infrastructure", "name: c\nkind: slurm\n")
    assert err == ("x.yaml:1:1: missing required keys 'host', 'user', 'known_hosts', 'work_root' "
                   "(needed when kind is slurm)")


@pytest.mark.parametrize("line, expected", [
    ("kind: slrum", "x.yaml:2:7: kind: 'slrum' is not one of: local, ssh, slurm, pbs, torque, openstack "
                    "(did you mean 'slurm'?)"),
    ("port: 0", "x.yaml:2:7: port: 0 is too small: the minimum is 1"),
    ("port: 70000", "x.yaml:2:7: port: 70000 is too large: the maximum is 65535"),
    ('port: "22"', "x.yaml:2:7: port: expected an integer, got a string (remove the quotes"),
    ("modules: []\nwork_root: ''", "x.yaml:3:12: work_root: must not be empty"),
    ("limits: {max_walltime: 10:00:00}",  # YAML 1.1 reads 10:00:00 as 36000 seconds
     "x.yaml:2:24: limits.max_walltime: expected a string, got an integer (put the value in"),
    ("poll_interval: {min: 0}", "x.yaml:2:22: poll_interval.min: 0 is too small: it must be more "
                                "than 0"),
])
def test_plain_messages(line: str, expected: str) -> None:
    text = "name: c\n" + line + "\n" + ("kind: local\n" if "kind" not in line else "")
    found = errors("infrastructure", text)
    assert any(e.startswith(expected) for e in found), found


def test_type_errors_name_the_types() -> None:
    [err] = errors("experiment", "name: e\napplication: a\nmatrix:\n  nu: fast\n")
    assert err == "x.yaml:4:7: matrix.nu: expected a list, got a string"


def test_key_patterns_point_at_the_key() -> None:
    [err] = errors("experiment", "name: e\napplication: a\ninputs: {Bad Key: d}\n")
    assert err.startswith("x.yaml:3:10: inputs.Bad Key: 'Bad Key' is not allowed as a key here")


def test_repeated_needs() -> None:
    found = errors("experiment", "name: e\napplication: a\nsteps:\n  - {name: a, needs: [b, b]}\n"
                                 "  - {name: b}\n")
    assert found == ["x.yaml:4:22: steps[0].needs: the list repeats 'b'"]


def test_a_typo_is_not_also_a_missing_key() -> None:
    found = errors("experiment", "name: e\napplicaton: a\n")
    assert found == ["x.yaml:2:1: applicaton: unknown key 'applicaton' (did you mean "
                     "'application'?)"]


def test_every_error_of_a_document() -> None:
    found = errors("experiment", "name: E\napplication: a\nmatirx: {}\ntags: x\n")
    assert len(found) == 3


def test_parameter_names_are_identifiers() -> None:
    [err] = errors("application", APP.replace("    n: {", "    n-x: {"))
    assert err.startswith("x.yaml:7:5: parameters.properties.n-x: 'n-x' is not allowed as a key")


# --- schemas written by users ----------------------------------------------------------------------

def user_errors(sch: dict, value, keys=("parameters",)) -> list[str]:
    doc = parse("parameters: {x: 1}\n", "e.yaml")
    return [e.render() for e in schema.check_value(value, sch, doc, keys)]


def test_check_value_places_errors_under_the_keys() -> None:
    sch = {"properties": {"x": {"type": "integer", "minimum": 3}}}
    assert user_errors(sch, {"x": 1}) == ["e.yaml:1:17: parameters.x: 1 is too small: the minimum "
                                          "is 3"]
    assert user_errors(sch, {"x": 5}) == []


def test_any_of_explains_the_choice_that_fits_the_type() -> None:
    sch = {"properties": {"x": {"anyOf": [{"type": "integer", "minimum": 10}, {"type": "string"}]}}}
    assert user_errors(sch, {"x": 1}) == ["e.yaml:1:17: parameters.x: 1 is too small: the minimum "
                                          "is 10"]
    sch = {"properties": {"x": {"anyOf": [{"minimum": 10}, {"multipleOf": 7}]}}}
    [err] = user_errors(sch, {"x": 1})
    assert "fits none of the choices: 1 is too small: the minimum is 10; or 1 is not a multiple" \
        in err


@pytest.mark.parametrize("sch, where, message", [
    ({"properties": {"x": {"type": "integr"}}}, "parameters.properties.x.type",
     "'integr' is not one of: array, boolean, integer, null, number, object, string"),
    ({"properties": {"x": {"pattern": "["}}}, "parameters.properties.x.pattern",
     "'[' is not a valid regular expression"),
    ({"properties": {"x": {"minimum": "3"}}}, "parameters.properties.x.minimum",
     "expected a number, got a string"),
    ({"properties": {"x": {"$ref": "#/$defs/nowhere"}}}, "parameters",
     "the schema cannot be used: a $ref points to nowhere (Pointer '/$defs/nowhere' does not exist)"),
])
def test_invalid_user_schemas(sch: dict, where: str, message: str) -> None:
    user = schema.user_schema(sch)
    assert user.invalid
    doc = parse("parameters: {}\n", "a.yaml")
    [err] = user.problems(doc, ("parameters",))
    assert err.where.breadcrumb == where and err.message == message
    assert user.errors({"x": 1}, doc, lambda p: p) == []  # nothing is checked against it


def test_identical_user_schemas_are_compiled_once() -> None:
    a = schema.user_schema({"properties": {"x": {"type": "integer"}}})
    assert schema.user_schema({"properties": {"x": {"type": "integer"}}}) is a


def test_per_key_drops_what_ties_keys_together() -> None:
    user = schema.user_schema({"properties": {"x": {"type": "integer"}}, "required": ["x"],
                               "dependentRequired": {"x": ["y"]}})
    assert user.ties
    assert user.per_key().schema == {"properties": {"x": {"type": "integer"}}}
    plain = schema.user_schema({"type": "object", "properties": {"x": {}}, "title": "t"})
    assert plain.per_key() is plain and not plain.ties
    assert schema.user_schema({"properties": {}, "const": {}}).ties
    assert schema.user_schema({"properties": {}, "type": "array"}).ties


def test_did_you_mean() -> None:
    assert schema.did_you_mean("matirx", ["matrix", "name"], "keys") == "did you mean 'matrix'?"
    assert schema.did_you_mean("zzz", ["b", "a"], "keys") == "keys: a, b"
    assert schema.did_you_mean("zzz", [str(i) for i in range(20)], "keys") == ""
