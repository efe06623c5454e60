"""The JSON Schemas in runner/schemas/ and the translation of their errors into SpecErrors."""

from __future__ import annotations

import difflib
import re
import json
from functools import cache
from importlib import resources
from typing import Any, Iterator

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from runner.errors import SpecError
from runner.spec.models import plain
from runner.spec.yamlload import Document

KINDS = ("application", "dataset", "infrastructure", "experiment")


def schema_text(name: str) -> str:
    """The text of `schemas/<name>.schema.json` as shipped in the package."""
    return resources.files("runner").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")


@cache
def schema(name: str) -> dict[str, Any]:
    return json.loads(schema_text(name))


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for one kind; `common.schema.json` references resolve to the shipped file."""
    registry = Registry().with_resource("common.schema.json",
                                        Resource.from_contents(schema("common")))
    return Draft202012Validator(schema(name), registry=registry)


def check(doc: Document, kind: str) -> list[SpecError]:
    """Every schema error of a document, each with its line and a plain message."""
    errors: list[SpecError] = []
    for err in validator(kind).iter_errors(doc.data):
        errors.extend(_translate(doc, err))
    return errors


def check_value(value: Any, subschema: dict, doc: Document, keys: tuple) -> list[SpecError]:
    """Check a value against a schema given by the user (an application's parameters)."""
    errors: list[SpecError] = []
    for err in _user_validator(plain(subschema)).iter_errors(plain(value)):
        err.path.extendleft(reversed(keys))
        errors.extend(_translate(doc, err))
    return errors


def _user_validator(subschema: dict) -> Draft202012Validator:
    key = json.dumps(subschema, sort_keys=True, default=str)
    if key not in _USER_VALIDATORS:
        _USER_VALIDATORS[key] = Draft202012Validator(subschema)
    return _USER_VALIDATORS[key]


_USER_VALIDATORS: dict[str, Draft202012Validator] = {}


def _translate(doc: Document, err: ValidationError) -> Iterator[SpecError]:
    if err.validator in ("oneOf", "anyOf") and err.context:
        err = best_match(err.context) if _deeper(err) else err
    keys = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = list(err.schema.get("properties", {}))
        for key in err.instance:
            if key not in allowed and not _matches_patterns(err.schema, key):
                yield SpecError(doc.where(keys + (key,), on_key=True), f"unknown key '{key}'",
                                did_you_mean(key, allowed, "allowed keys"))
        return
    message, hint = _message(err)
    yield SpecError(doc.where(keys), message, hint)


def _deeper(err: ValidationError) -> bool:
    """Whether one branch of a oneOf got further than the type check (worth reporting instead)."""
    return any(sub.validator != "type" or sub.path for sub in err.context)


def _matches_patterns(sch: dict, key: str) -> bool:
    return any(re.search(p, key) for p in sch.get("patternProperties", {}))


def _message(err: ValidationError) -> tuple[str, str]:
    v, inst, expected = err.validator, err.instance, err.validator_value
    if v == "type":
        want = " or ".join(_TYPE_WORDS.get(t, t) for t in ([expected] if isinstance(expected, str) else expected))
        return f"expected {want}, got {type_word(inst)}", ""
    if v == "required":
        missing = [k for k in expected if isinstance(inst, dict) and k not in inst]
        return f"missing required key '{missing[0] if missing else expected}'", ""
    if v == "enum":
        return (f"{inst!r} is not one of: {', '.join(map(str, expected))}",
                did_you_mean(str(inst), [str(e) for e in expected], "choices"))
    if v == "pattern":
        what = err.schema.get("description", f"it must match {expected}")
        return f"{inst!r} is not allowed here: {what}", ""
    if v in ("oneOf", "anyOf"):
        return f"{_short(inst)} is not valid here: {err.schema.get('description', '')}".rstrip(": "), ""
    if v == "additionalProperties":
        return f"{_short(inst)} is not allowed here", ""
    return err.message, ""


_TYPE_WORDS = {"object": "a map", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "nothing (null)"}


def type_word(value: Any) -> str:
    """A plain word for the type of a loaded YAML value."""
    if value is None:
        return "nothing (null)"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a map"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(word: str, choices: list[str], label: str) -> str:
    """'did you mean X?' when a choice is close, else the list of choices (if short)."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if choices and len(choices) <= 12:
        return f"{label}: {', '.join(sorted(choices))}"
    return ""
