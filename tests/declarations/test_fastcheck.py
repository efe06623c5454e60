"""The fast yes/no check (jsonschema-rs) agrees with jsonschema: never a yes where jsonschema says
no, except for float `multipleOf`, where jsonschema-rs is exact and jsonschema is not (0.3 is a
multiple of 0.1)."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from runner.declarations import fastcheck, schema
from runner.declarations.fastcheck import Broken, compile_schema

ROOT = Path(__file__).resolve().parents[2]


def test_keywords_are_jsonschemas() -> None:
    assert fastcheck.KEYWORDS == set(Draft202012Validator.VALIDATORS)


def test_every_shipped_schema_compiles() -> None:
    for kind in schema.KINDS:
        assert schema._fast(kind)(samples_of(kind)[0]), kind


CASES: list[tuple[dict, list[Any]]] = [
    ({"type": "integer"}, [1, 1.0, 1.5, True, "1", None]),
    ({"type": "number"}, [1, 1.5, True, "1", float("inf")]),
    ({"type": ["string", "null"]}, ["a", None, 0, False]),
    ({"type": ["object", "boolean"]}, [{}, True, 0, []]),
    ({"enum": [1, "a", None, [1, 2], {"k": True}]},
     [1, 1.0, True, "a", None, [1, 2], [1.0, 2], [True, 2], {"k": True}, {"k": 1}, "1"]),
    ({"enum": [True]}, [True, 1, 1.0]),
    ({"const": 0}, [0, 0.0, False, None, "0"]),
    ({"const": {"a": [1, {"b": False}]}}, [{"a": [1, {"b": False}]}, {"a": [1, {"b": 0}]}]),
    ({"minimum": 1, "exclusiveMaximum": 3}, [1, 0.9, 2.99, 3, "x", True, False]),
    ({"exclusiveMinimum": 0, "maximum": 0.25}, [0, 1e-9, 0.25, 0.2500001]),
    ({"multipleOf": 0.1}, [0.3, 0.35, 3, 1e308, True]),
    ({"multipleOf": 3}, [9, 9.0, 10, 4.5]),
    ({"minLength": 2, "maxLength": 3, "pattern": "^a"}, ["a", "ab", "abcd", "ba", 5]),
    ({"pattern": "b"}, ["abc", "xyz"]),
    ({"items": {"type": "integer"}, "minItems": 1, "maxItems": 2}, [[], [1], [1, 2, 3], [1, "a"],
                                                                   "x"]),
    ({"prefixItems": [{"type": "string"}], "items": False}, [["a"], ["a", 1], [1], []]),
    ({"prefixItems": [True], "items": {"type": "string"}}, [[1, "a"], [1, 2]]),
    ({"contains": {"type": "string"}}, [[1, "a"], [1, 2], []]),
    ({"contains": {"type": "string"}, "minContains": 2, "maxContains": 3},
     [["a"], ["a", "b"], ["a", "b", "c", "d"], [1]]),
    ({"contains": {"type": "string"}, "minContains": 0}, [[], [1]]),
    ({"uniqueItems": True}, [["a", "b"], ["a", "a"], [1, True], [1, 1.0], [[1], [1]], [{}, {}]]),
    ({"properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False},
     [{"a": "x"}, {"a": 1}, {}, {"a": "x", "b": 1}, [], "s"]),
    ({"patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": {"type": "string"}},
     [{"x-a": 1, "b": "s"}, {"x-a": "s"}, {"b": 1}]),
    ({"propertyNames": {"pattern": "^[a-z]+$"}, "minProperties": 1, "maxProperties": 2},
     [{"ab": 1}, {"Ab": 1}, {}, {"a": 1, "b": 2, "c": 3}]),
    ({"dependentRequired": {"a": ["b"]}}, [{"a": 1}, {"a": 1, "b": 2}, {"b": 2}]),
    ({"dependentSchemas": {"a": {"required": ["c"]}}}, [{"a": 1}, {"a": 1, "c": 1}, {}]),
    ({"if": {"properties": {"k": {"const": "x"}}}, "then": {"required": ["y"]},
      "else": {"required": ["z"]}}, [{"k": "x"}, {"k": "x", "y": 1}, {"k": "q", "z": 1}, {}]),
    ({"not": {"type": "string"}}, ["a", 1]),
    ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 3, 1.5, "a"]),
    ({"anyOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 3, 1.5, "a"]),
    ({"allOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 3]),
    ({"$defs": {"node": {"type": "object", "properties": {"kids": {"type": "array",
                                                                  "items": {"$ref": "#/$defs/node"}}},
                         "additionalProperties": False}},
      "$ref": "#/$defs/node"}, [{"kids": [{"kids": []}]}, {"kids": [{"x": 1}]}]),
    ({"$defs": {"a~b": {"type": "string"}, "c/d": {"minimum": 1}},
      "properties": {"x": {"$ref": "#/$defs/a~0b"}, "y": {"$ref": "#/$defs/c~1d"}}},
     [{"x": "s", "y": 2}, {"x": 1}, {"y": 0}]),
    (True, [1, None]),
    (False, [1, None]),
    ({"type": "object", "format": "email", "title": "annotations are ignored", "unknownWord": 3},
     [{}, 1]),
]


@pytest.mark.parametrize("sch, instances", CASES, ids=[str(i) for i in range(len(CASES))])
def test_agrees_with_jsonschema(sch: Any, instances: list) -> None:
    check = compile_schema(sch)
    assert check is not None
    reference = Draft202012Validator(sch)
    for inst in instances:
        expected = reference.is_valid(inst)
        # allowed: a no that jsonschema, asked then, turns into a yes; and exact float multiples
        exact_float = isinstance(sch.get("multipleOf") if isinstance(sch, dict) else None, float)
        assert check(inst) == expected or not check(inst) or exact_float, (sch, inst)


@pytest.mark.parametrize("sch", [
    {"$ref": "#/$defs/missing"},
    {"$ref": "other.json"},
    {"pattern": "["},
])
def test_broken_schemas_raise(sch: dict) -> None:
    with pytest.raises(Broken):
        compile_schema(sch)


@pytest.mark.parametrize("sch,valid", [
    ({"type": "integer"}, True), ({"type": "integr"}, False), ({"minimum": "3"}, False),
    ({"pattern": "^a(?=b)"}, True), ({"pattern": "["}, False),
    ({"patternProperties": {"(?P<x>a)": {}}}, True),
])
def test_valid_schema_agrees_with_the_meta_schema(sch: dict, valid: bool) -> None:
    assert fastcheck.valid_schema(sch) is valid


# --- random documents against the shipped schemas --------------------------------------------------

POOL: list[Any] = [None, True, False, 0, -1, 3, 1.5, "", "x", "Bad Name", "a\nb", "00:10:00",
                   "heat@1.2.0", "2G", [], ["x"], [1, "a"], {}, {"env": "X"}, {"image": "i"},
                   {"build": {"dockerfile": "D"}}, {"step": "a", "path": "p"}, {"min": 1}]


def samples_of(kind: str) -> list[dict]:
    return [doc for k, doc in samples() if k == kind]


def samples() -> list[tuple[str, dict]]:
    found = []
    for kind, folder in (("application", "applications"), ("dataset", "datasets"),
                         ("infrastructure", "infrastructures"), ("experiment", "experiments")):
        for path in sorted((ROOT / folder).glob("*.yaml")):
            found.append((kind, yaml.safe_load(path.read_text())))
    found.append(("infrastructure", {"name": "c", "kind": "slurm", "host": "h", "user": {"env": "U"},
                                     "known_hosts": {"env": "K"}, "work_root": "/w",
                                     "limits": {"max_parallel": 2}, "modules": ["a/1"]}))
    found.append(("experiment", {"name": "e", "application": "a", "steps": [
        {"name": "s", "needs": ["t"], "inputs": {"i": {"step": "t", "path": "o"}}},
        {"name": "t", "resources": {"slurm": {"qos": "short"}}}], "matrix": {"x": [1, 2],
                                                                             "exclude": [{"x": 1}]}}))
    return found


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, prefix + (i,))
    return out


def mutate(doc: dict, rng: random.Random, known: list[str], pool: list = POOL) -> dict:
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(paths(doc)[1:] or [()])
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        action = rng.random()
        if action < 0.2 and path:
            del parent[path[-1]]
        elif action < 0.4 and isinstance(parent, dict):
            parent[rng.choice(known + ["zzz"])] = copy.deepcopy(rng.choice(pool))
        elif path:
            parent[path[-1]] = copy.deepcopy(rng.choice(pool))
    return doc


@pytest.mark.parametrize("kind, doc", samples(), ids=lambda v: v if isinstance(v, str) else "")
def test_random_documents_agree(kind: str, doc: dict) -> None:
    rng = random.Random(f"{kind}{sorted(doc)}")
    fast, reference = schema._fast(kind), schema.validator(kind)
    assert fast(doc) and reference.is_valid(doc)
    known = sorted({k for p in paths(schema.schema(kind)) for k in p if isinstance(k, str)})
    verdicts = set()
    for _ in range(400):
        bad = mutate(doc, rng, known)
        expected = reference.is_valid(bad)
        assert fast(bad) == expected, bad
        verdicts.add(expected)
    assert verdicts == {True, False}


def test_random_parameter_schemas_agree_with_the_meta_schema() -> None:
    meta = fastcheck.valid_schema
    app = yaml.safe_load((ROOT / "applications" / "heat.yaml").read_text())
    base = app["parameters"]
    words = ["type", "minimum", "maximum", "enum", "items", "required", "pattern", "properties",
             "default", "description", "additionalProperties", "oneOf", "minItems", "const",
             "uniqueItems", "$defs", "dependentRequired", "not", "if", "format"]
    values = POOL + ["integer", "integr", "[", "^a$", ["a", "a"], ["string", "null"], {"type": 3}]
    rng = random.Random(7)
    verdicts = set()
    for _ in range(600):
        sch = copy.deepcopy(base)
        target = rng.choice([sch, *sch["properties"].values()])
        target[rng.choice(words)] = copy.deepcopy(rng.choice(values))
        try:
            Draft202012Validator.check_schema(sch, format_checker=Draft202012Validator.FORMAT_CHECKER)
            expected = True
        except Exception:  # noqa: BLE001 - SchemaError
            expected = False
        assert meta(sch) == expected, sch
        verdicts.add(expected)
    assert verdicts == {True, False}
