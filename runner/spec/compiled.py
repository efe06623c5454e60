"""A fast yes/no check compiled from a JSON Schema (draft 2020-12); jsonschema explains a no.

jsonschema walks a schema anew for every document, which costs a millisecond or more a file; this
turns a schema into nested closures once. It follows jsonschema's own keyword code exactly, so a
yes here is a yes there. Where exactness would take work (unknown formats, mixed `uniqueItems`
lists) the check says no and the caller asks jsonschema, which then gives the errors or the yes.
A schema using a keyword compiled here never (`unevaluated*`, anchors, nested `$id`) is not
compiled at all: `compile_schema` returns None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from numbers import Number
from typing import Any, Callable
from urllib.parse import unquote, urldefrag, urljoin

Check = Callable[[Any], bool]

# Every keyword jsonschema's Draft202012Validator acts on (tests compare this with jsonschema).
KEYWORDS = frozenset({
    "$dynamicRef", "$ref", "additionalProperties", "allOf", "anyOf", "const", "contains",
    "dependentRequired", "dependentSchemas", "enum", "exclusiveMaximum", "exclusiveMinimum",
    "format", "if", "items", "maxItems", "maxLength", "maxProperties", "maximum", "minItems",
    "minLength", "minProperties", "minimum", "multipleOf", "not", "oneOf", "pattern",
    "patternProperties", "prefixItems", "properties", "propertyNames", "required", "type",
    "unevaluatedItems", "unevaluatedProperties", "uniqueItems"})


class Unsupported(Exception):
    """The schema uses something this module does not compile; use jsonschema."""


class Broken(Exception):
    """The schema cannot be used at all (a reference to nowhere, an unknown type, a bad regex)."""


def compile_schema(schema: Any, documents: Mapping[str, Any] | None = None,
                   formats: Mapping[str, Check] | None = None,
                   dynamic_root: bool = False) -> Check | None:
    """A check for `schema`, or None when it must be left to jsonschema; raises Broken.

    `documents` maps URIs to other schemas that `$ref` may name; `formats` makes `format`
    an assertion (None: an annotation, as for a validator without a format checker);
    `dynamic_root` resolves every `$dynamicRef` to the root (true for the meta-schema).
    """
    try:
        return _Compiler(schema, documents or {}, formats, dynamic_root).root()
    except Unsupported:
        return None


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


def _is_number(x: Any) -> bool:
    return type(x) in (int, float) or (isinstance(x, Number) and not isinstance(x, bool))


def _is_integer(x: Any) -> bool:
    t = type(x)
    if t is int:
        return True
    if t is bool:
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


_TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "integer": _is_integer,
    "number": _is_number,
}
_PY_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def equal(one: Any, two: Any) -> bool:
    """jsonschema's equality: `True` is not `1`, containers compare element by element."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, (list, tuple)) and isinstance(two, (list, tuple)):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(k in two and equal(v, two[k]) for k, v in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return one == two


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda x: a(x) and b(x)
    items = tuple(checks)

    def check(x: Any) -> bool:
        for c in items:
            if not c(x):
                return False
        return True
    return check


class _Compiler:
    def __init__(self, schema: Any, documents: Mapping[str, Any],
                 formats: Mapping[str, Check] | None, dynamic_root: bool) -> None:
        self.schema, self.formats, self.dynamic_root = schema, formats, dynamic_root
        self.base = schema.get("$id", "") if isinstance(schema, dict) else ""
        self.documents = dict(documents)
        self.documents[self.base] = schema
        self.refs: dict[tuple[str, str], Check] = {}

    def root(self) -> Check:
        return self.node(self.schema, self.base, top=True)

    def node(self, schema: Any, base: str, top: bool = False) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise Unsupported("not a schema")
        if "$id" in schema and not top:
            raise Unsupported("$id below the root")
        checks: list[Check] = []
        for key, value in schema.items():
            if key not in KEYWORDS:
                continue  # an annotation, or a keyword that is only read by another
            method = getattr(self, "k_" + key.lstrip("$"), None)
            if method is None:
                raise Unsupported(key)
            check = method(value, schema, base)
            if check is not None:
                checks.append(check)
        return _all(checks)

    # --- references ------------------------------------------------------------------------

    def k_ref(self, ref: Any, schema: dict, base: str) -> Check:
        if not isinstance(ref, str):
            raise Broken(f"$ref must be a string, not {ref!r}")
        uri, fragment = urldefrag(urljoin(base, ref))
        if fragment and not fragment.startswith("/"):
            raise Unsupported("anchor references")
        key = (uri, fragment)
        if key not in self.refs:
            if uri not in self.documents:
                raise Broken(f"$ref {ref!r} points to an unknown document")
            cell: list[Check] = []
            self.refs[key] = lambda x: cell[0](x)
            doc = self.documents[uri]
            cell.append(self.node(_pointer(doc, fragment, ref), uri, top=not fragment))
        return self.refs[key]

    def k_dynamicRef(self, ref: Any, schema: dict, base: str) -> Check:
        if not self.dynamic_root:
            raise Unsupported("$dynamicRef")
        return self.k_ref("#", schema, self.base)

    # --- any instance ----------------------------------------------------------------------

    def k_type(self, types: Any, schema: dict, base: str) -> Check:
        names = [types] if isinstance(types, str) else types
        if not isinstance(names, list) or any(not isinstance(n, str) or n not in _TYPES
                                              for n in names):
            raise Broken(f"unknown type {types!r}")
        if len(names) == 1 and names[0] in ("integer", "number"):
            return _TYPES[names[0]]
        if all(n in _PY_TYPES for n in names):  # no number type: one isinstance decides
            kinds = tuple(_PY_TYPES[n] for n in names)
            return lambda x: isinstance(x, kinds)
        checks = tuple(_TYPES[n] for n in names)
        return lambda x: any(c(x) for c in checks)

    def k_enum(self, values: Any, schema: dict, base: str) -> Check:
        if not isinstance(values, list):
            raise Unsupported("enum that is not a list")
        strings = frozenset(v for v in values if isinstance(v, str))
        others = tuple(v for v in values if not isinstance(v, str))
        return lambda x: x in strings if isinstance(x, str) else any(equal(x, v) for v in others)

    def k_const(self, value: Any, schema: dict, base: str) -> Check:
        return lambda x: equal(x, value)

    def k_format(self, name: Any, schema: dict, base: str) -> Check | None:
        if self.formats is None:
            return None
        if name in self.formats:
            return self.formats[name]
        return lambda x: not isinstance(x, str)  # unknown here: let jsonschema decide

    def k_allOf(self, subs: Any, schema: dict, base: str) -> Check:
        return _all([self.node(s, base) for s in _schema_list(subs)])

    def k_anyOf(self, subs: Any, schema: dict, base: str) -> Check:
        checks = tuple(self.node(s, base) for s in _schema_list(subs))
        return lambda x: any(c(x) for c in checks)

    def k_oneOf(self, subs: Any, schema: dict, base: str) -> Check:
        checks = tuple(self.node(s, base) for s in _schema_list(subs))

        def one_of(x: Any) -> bool:
            found = 0
            for c in checks:
                if c(x):
                    found += 1
                    if found > 1:
                        return False
            return found == 1
        return one_of

    def k_not(self, sub: Any, schema: dict, base: str) -> Check:
        check = self.node(sub, base)
        return lambda x: not check(x)

    def k_if(self, sub: Any, schema: dict, base: str) -> Check:
        cond = self.node(sub, base)
        then = self.node(schema["then"], base) if "then" in schema else _always
        other = self.node(schema["else"], base) if "else" in schema else _always
        return lambda x: then(x) if cond(x) else other(x)

    # --- numbers ---------------------------------------------------------------------------

    def _bound(self, limit: Any, test: Callable[[Any, Any], bool]) -> Check:
        if not _is_number(limit):
            raise Broken(f"a bound must be a number, not {limit!r}")
        return lambda x: not _is_number(x) or test(x, limit)

    def k_minimum(self, v: Any, schema: dict, base: str) -> Check:
        return self._bound(v, lambda x, m: not x < m)

    def k_maximum(self, v: Any, schema: dict, base: str) -> Check:
        return self._bound(v, lambda x, m: not x > m)

    def k_exclusiveMinimum(self, v: Any, schema: dict, base: str) -> Check:
        return self._bound(v, lambda x, m: not x <= m)

    def k_exclusiveMaximum(self, v: Any, schema: dict, base: str) -> Check:
        return self._bound(v, lambda x, m: not x >= m)

    def k_multipleOf(self, v: Any, schema: dict, base: str) -> Check:
        if not _is_number(v) or v == 0:
            raise Broken(f"multipleOf must be a positive number, not {v!r}")
        return lambda x: not _is_number(x) or _multiple(x, v)

    # --- strings ---------------------------------------------------------------------------

    def k_minLength(self, n: Any, schema: dict, base: str) -> Check:
        return lambda x: not isinstance(x, str) or len(x) >= n

    def k_maxLength(self, n: Any, schema: dict, base: str) -> Check:
        return lambda x: not isinstance(x, str) or len(x) <= n

    def k_pattern(self, pattern: Any, schema: dict, base: str) -> Check:
        search = _regex(pattern).search
        return lambda x: not isinstance(x, str) or search(x) is not None

    # --- arrays ----------------------------------------------------------------------------

    def k_items(self, items: Any, schema: dict, base: str) -> Check:
        start = len(schema.get("prefixItems", []))
        if items is False:
            return lambda x: not isinstance(x, list) or len(x) <= start
        check = self.node(items, base)
        if start:
            return lambda x: not isinstance(x, list) or all(check(v) for v in x[start:])
        return lambda x: not isinstance(x, list) or all(check(v) for v in x)

    def k_prefixItems(self, subs: Any, schema: dict, base: str) -> Check:
        checks = tuple(self.node(s, base) for s in _schema_list(subs))
        return lambda x: not isinstance(x, list) or all(c(v) for c, v in zip(checks, x))

    def k_contains(self, sub: Any, schema: dict, base: str) -> Check:
        check = self.node(sub, base)
        low, high = schema.get("minContains", 1), schema.get("maxContains")

        def contains(x: Any) -> bool:
            if not isinstance(x, list):
                return True
            found = sum(1 for v in x if check(v))
            return low <= found and (found <= (len(x) if high is None else high))
        return contains

    def k_minItems(self, n: Any, schema: dict, base: str) -> Check:
        return lambda x: not isinstance(x, list) or len(x) >= n

    def k_maxItems(self, n: Any, schema: dict, base: str) -> Check:
        return lambda x: not isinstance(x, list) or len(x) <= n

    def k_uniqueItems(self, unique: Any, schema: dict, base: str) -> Check | None:
        if not unique:
            return None
        # all strings: a set decides; anything else is rare here and left to jsonschema
        return lambda x: not isinstance(x, list) or (
            all(isinstance(v, str) for v in x) and len(set(x)) == len(x))

    # --- objects ---------------------------------------------------------------------------

    def k_properties(self, props: Any, schema: dict, base: str) -> Check:
        if not isinstance(props, dict):
            raise Unsupported("properties that is not a map")
        table = {k: self.node(s, base) for k, s in props.items()}
        get = table.get

        def properties(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for key, value in x.items():  # usually fewer than the schema's properties
                check = get(key)
                if check is not None and not check(value):
                    return False
            return True
        return properties

    def k_patternProperties(self, props: Any, schema: dict, base: str) -> Check:
        checks = tuple((_regex(p).search, self.node(s, base)) for p, s in props.items())
        return lambda x: not isinstance(x, dict) or all(
            check(v) for search, check in checks for k, v in x.items() if search(k))

    def k_additionalProperties(self, sub: Any, schema: dict, base: str) -> Check:
        known = frozenset(schema.get("properties", {}))
        patterns = "|".join(schema.get("patternProperties", {}))
        search = _regex(patterns).search if patterns else None
        if sub is False:
            return lambda x: not isinstance(x, dict) or all(
                k in known or (search is not None and search(k)) for k in x)
        check = self.node(sub, base)
        return lambda x: not isinstance(x, dict) or all(
            check(v) for k, v in x.items() if k not in known and not (search and search(k)))

    def k_propertyNames(self, sub: Any, schema: dict, base: str) -> Check:
        check = self.node(sub, base)
        return lambda x: not isinstance(x, dict) or all(check(k) for k in x)

    def k_required(self, names: Any, schema: dict, base: str) -> Check | None:
        if not isinstance(names, list):
            raise Unsupported("required that is not a list")
        if not names:
            return None
        wanted = tuple(names)
        return lambda x: not isinstance(x, dict) or all(n in x for n in wanted)

    def k_minProperties(self, n: Any, schema: dict, base: str) -> Check:
        return lambda x: not isinstance(x, dict) or len(x) >= n

    def k_maxProperties(self, n: Any, schema: dict, base: str) -> Check:
        return lambda x: not isinstance(x, dict) or len(x) <= n

    def k_dependentRequired(self, deps: Any, schema: dict, base: str) -> Check:
        pairs = tuple((k, tuple(v)) for k, v in deps.items())
        return lambda x: not isinstance(x, dict) or all(
            all(n in x for n in names) for key, names in pairs if key in x)

    def k_dependentSchemas(self, deps: Any, schema: dict, base: str) -> Check:
        pairs = tuple((k, self.node(s, base)) for k, s in deps.items())
        return lambda x: not isinstance(x, dict) or all(
            check(x) for key, check in pairs if key in x)


def _schema_list(subs: Any) -> list:
    if not isinstance(subs, list):
        raise Unsupported("a list of schemas that is not a list")
    return subs


def _regex(pattern: Any) -> re.Pattern:
    try:
        return re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise Broken(f"{pattern!r} is not a valid regular expression: {exc}") from None


def _multiple(x: Any, step: Any) -> bool:
    if isinstance(step, float):
        quotient = x / step
        try:
            return int(quotient) == quotient
        except OverflowError:
            return (Fraction(x) / Fraction(step)).denominator == 1
        except ValueError:  # nan or inf: jsonschema raises here; leave it to it
            return False
    return not x % step


def _pointer(doc: Any, fragment: str, ref: str) -> Any:
    node = doc
    for part in fragment.split("/")[1:] if fragment else []:
        part = unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise Broken(f"$ref {ref!r} points to nowhere")
    return node
