"""JSON Schema nodes described in words: type, bounds, and the fields of an object schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

Resolve = Callable[[Mapping[str, Any]], Mapping[str, Any]]

BOUNDS = (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"),
          ("minItems", "items ≥"), ("maxItems", "items ≤"), ("minLength", "length ≥"),
          ("maxLength", "length ≤"))


def no_refs(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """The resolver for schemas without `$ref`."""
    return node


def type_of(node: Mapping[str, Any], resolve: Resolve = no_refs) -> str:
    """The type of a schema node in words (`integer`, `list of string`, `one of "a", "b"`)."""
    node = resolve(node)
    if "const" in node:
        return f"constant {json.dumps(node['const'])}"
    if "enum" in node:
        return "one of " + ", ".join(json.dumps(v) for v in node["enum"])
    alternatives = node.get("oneOf") or node.get("anyOf")
    if alternatives:
        return " or ".join(dict.fromkeys(type_of(a, resolve) for a in alternatives))
    types = node.get("type", "any")
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_one_type(t, node, resolve) for t in names)


def _one_type(name: str, node: Mapping[str, Any], resolve: Resolve) -> str:
    if name == "array" and isinstance(node.get("items"), Mapping):
        return f"list of {type_of(node['items'], resolve)}"
    if name == "object" and "properties" not in node and isinstance(
            node.get("additionalProperties"), Mapping):
        return f"map of {type_of(node['additionalProperties'], resolve)}"
    return name


def bounds(node: Mapping[str, Any]) -> str:
    """The limits a schema node puts on a value (`> 0, ≤ 0.25`), or an empty string."""
    parts = [f"{sign} {json.dumps(node[key])}" for key, sign in BOUNDS if key in node]
    if "pattern" in node:
        parts.append(f"matches {node['pattern']}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Field:
    """One field of an object schema, with its dotted path."""

    path: str
    node: Mapping[str, Any]
    required: bool


def fields(node: Mapping[str, Any], resolve: Resolve = no_refs,
           prefix: str = "") -> Iterator[Field]:
    """Every field of an object schema, depth first; alternatives (oneOf) are merged."""
    node = resolve(node)
    required = set(node.get("required", ()))
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield Field(path, sub, name in required)
        yield from _inside(sub, resolve, path)


def _inside(node: Mapping[str, Any], resolve: Resolve, path: str) -> Iterator[Field]:
    node = resolve(node)
    if "properties" in node:
        yield from fields(node, resolve, path + ".")
    items = node.get("items")
    if isinstance(items, Mapping):
        yield from _inside(items, resolve, path + "[]")
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):
        yield Field(path + ".<name>", extra, False)
        yield from _inside(extra, resolve, path + ".<name>")
    for alt in (*node.get("oneOf", ()), *node.get("anyOf", ())):
        yield from _inside(alt, resolve, path)
