"""Fast yes/no schema checks with jsonschema-rs (Rust); jsonschema (Python) explains a no.

Valid files are the common case and jsonschema walks a schema anew for every document (a
millisecond or more a file); jsonschema-rs answers in microseconds. A no is always asked again
of jsonschema, which gives the errors, so the two may only differ towards more questions.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

import jsonschema_rs

Check = Callable[[Any], bool]

# Every keyword jsonschema's Draft202012Validator acts on (a test compares this with jsonschema).
KEYWORDS = frozenset({
    "$dynamicRef", "$ref", "additionalProperties", "allOf", "anyOf", "const", "contains",
    "dependentRequired", "dependentSchemas", "enum", "exclusiveMaximum", "exclusiveMinimum",
    "format", "if", "items", "maxItems", "maxLength", "maxProperties", "maximum", "minItems",
    "minLength", "minProperties", "minimum", "multipleOf", "not", "oneOf", "pattern",
    "patternProperties", "prefixItems", "properties", "propertyNames", "required", "type",
    "unevaluatedItems", "unevaluatedProperties", "uniqueItems"})


class Broken(Exception):
    """A schema that cannot be used (a $ref to nowhere, a regular expression that is not one)."""


def compile_schema(schema: Any, documents: Mapping[str, Any] | None = None) -> Check:
    """A check for documents against `schema`; `documents` are the other schemas it refers to."""
    try:
        registry = jsonschema_rs.Registry(list((documents or {}).items())) if documents else None
        validator = jsonschema_rs.Draft202012Validator(schema, registry=registry)
    except (ValueError, jsonschema_rs.ReferencingError) as exc:
        first = str(exc).splitlines()[0]
        unresolved = isinstance(exc, jsonschema_rs.ReferencingError) or "Pointer" in first
        raise Broken(f"a $ref points to nowhere ({first})" if unresolved else first) from None
    return validator.is_valid


def valid_schema(schema: Any) -> bool:
    """Whether a user's schema is a valid draft 2020-12 schema whose patterns Python can read."""
    if not jsonschema_rs.meta.is_valid(schema):
        return False
    return all(_python_regex(p) for p in _patterns(schema))


def _patterns(node: Any) -> list[Any]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            found.append(node["pattern"])
        if isinstance(node.get("patternProperties"), dict):
            found += list(node["patternProperties"])
        for value in node.values():
            found += _patterns(value)
    elif isinstance(node, list):
        for value in node:
            found += _patterns(value)
    return found


def _python_regex(pattern: str) -> bool:
    try:
        re.compile(pattern)
        return True
    except re.error:
        return False
