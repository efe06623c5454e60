"""The JSON Schemas in runner/schemas/, and the schemas users write (application parameters).

jsonschema-rs (spec/fastcheck.py) answers "valid?" fast; only a document it rejects is walked by
jsonschema, whose errors spec/messages.py turns into sentences at the offending key or value.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from runner.errors import SpecError
from runner.declarations import fastcheck
from runner.declarations.models import plain
from runner.declarations.messages import COMMON, Ctx, Keys, did_you_mean, explain, type_word
from runner.declarations.yamlload import Document

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = ["KINDS", "UserSchema", "check", "check_value", "did_you_mean", "is_valid", "schema",
           "schema_text", "type_word", "user_schema", "validator"]

KINDS = ("application", "dataset", "infrastructure", "experiment")
META = "https://json-schema.org/draft/2020-12/schema"


def schema_text(name: str) -> str:
    """The text of `schemas/<name>.schema.json` as shipped in the package."""
    return resources.files("runner").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")


@cache
def schema(name: str) -> dict[str, Any]:
    return json.loads(schema_text(name))


@cache
def validator(name: str) -> "Draft202012Validator":
    """A jsonschema validator for one kind; `common.schema.json` resolves to the shipped file."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    registry = Registry().with_resource(COMMON, Resource.from_contents(schema("common")))
    return Draft202012Validator(schema(name), registry=registry)


@cache
def _fast(name: str) -> fastcheck.Check:
    return fastcheck.compile_schema(schema(name), {COMMON: schema("common")})


def is_valid(kind: str, data: Any) -> bool:
    """Whether `data` is valid against a shipped schema: jsonschema-rs answers, and only a no is
    asked again of jsonschema (the two may only differ towards more questions)."""
    return _fast(kind)(data) or not any(validator(kind).iter_errors(data))


def check(doc: Document, kind: str) -> list[SpecError]:
    """Every schema error of a document, each with its line and a plain message."""
    if _fast(kind)(doc.data):
        return []
    ctx = Ctx(doc, schema(kind), common=schema("common"))
    return explain(validator(kind).iter_errors(doc.data), ctx)


# keywords that check each key of an object on its own; any other one at the top of a parameter
# schema may tie values together (`if`, `dependentRequired`, `const`...), so points are checked whole
_PER_KEY = frozenset({"properties", "patternProperties", "additionalProperties", "propertyNames"})


def _ties(sch: dict) -> set[str]:
    found = (set(sch) & fastcheck.KEYWORDS) - _PER_KEY - {"required"}
    return found - {"type"} if sch.get("type") == "object" else found


class UserSchema:
    """A schema written by a user (an application's parameters): checked once, compiled once."""

    def __init__(self, subschema: dict[str, Any], checked: bool = False) -> None:
        self.schema = subschema
        self._meta_errors: list = []
        self._broken = ""
        try:
            self._meta_errors = [] if checked else _meta_errors(subschema)
        except Exception as exc:  # noqa: BLE001 - whatever jsonschema makes of a strange schema
            self._broken = f"jsonschema cannot read it: {exc}"
        self._fast: fastcheck.Check | None = None
        self._slow: "Draft202012Validator | None" = None
        self._per_key: UserSchema | None = None
        if not self.invalid:
            try:
                self._fast = fastcheck.compile_schema(subschema)
            except fastcheck.Broken as exc:
                self._broken = str(exc)

    @property
    def invalid(self) -> bool:
        """Whether the schema itself is wrong (then no value is checked against it)."""
        return bool(self._meta_errors or self._broken)

    def problems(self, doc: Document, keys: tuple) -> list[SpecError]:
        """What is wrong with the schema, placed in `doc` where the schema is written (`keys`)."""
        if self._broken:
            return [SpecError(doc.where(keys), f"the schema cannot be used: {self._broken}")]
        ctx = Ctx(doc, {}, lambda p: keys + p)
        return explain(iter(self._meta_errors), ctx)

    @property
    def ties(self) -> bool:
        """Whether a value's validity may depend on the others' (then check whole objects)."""
        return bool(_ties(self.schema))

    def per_key(self) -> "UserSchema":
        """This schema without what ties keys together: checks `{key: value}` one key at a time."""
        if self._per_key is None:
            drop = _ties(self.schema) | {"required"}
            if not drop & set(self.schema):
                self._per_key = self
            else:
                self._per_key = UserSchema({k: v for k, v in self.schema.items()
                                            if k not in drop}, checked=True)
        return self._per_key

    def errors(self, value: Any, doc: Document, to_keys: Keys) -> list[SpecError]:
        """The errors of `value`, each placed where `to_keys(error path)` says in `doc`."""
        value = plain(value)   # the loaded declarations are frozen (mapping proxies, tuples)
        if self.invalid or (self._fast is not None and self._fast(value)):
            return []
        if self._slow is None:
            from jsonschema import Draft202012Validator
            self._slow = Draft202012Validator(self.schema)
        return explain(self._slow.iter_errors(value), Ctx(doc, self.schema, to_keys))


def user_schema(subschema: dict[str, Any]) -> UserSchema:
    """The checker of a user's schema; identical schemas (copied applications) share one."""
    return _user_schema(json.dumps(subschema, sort_keys=True, default=str))


@cache
def _user_schema(key: str) -> UserSchema:
    return UserSchema(json.loads(key))


def check_value(value: Any, subschema: dict, doc: Document, keys: tuple) -> list[SpecError]:
    """Check a value against a schema given by the user (an application's parameters)."""
    return user_schema(subschema).errors(value, doc, lambda path: keys + path)


def _meta_errors(subschema: Any) -> list:
    """jsonschema's errors for a schema that is not a valid JSON Schema (draft 2020-12)."""
    if fastcheck.valid_schema(subschema):
        return []
    from jsonschema import Draft202012Validator as V
    return list(V(V.META_SCHEMA, format_checker=V.FORMAT_CHECKER).iter_errors(subschema))
