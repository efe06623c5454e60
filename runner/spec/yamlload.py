"""Load one YAML declaration safely, keeping its node tree so errors can name a line.

libyaml composes the node tree (fast); this module turns nodes into plain values and refuses what
a declaration must never contain: duplicate keys, non-standard tags, alias bombs, deep nesting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runner.errors import Location, SpecError

MAX_BYTES = 1 << 20          # a declaration is small; a huge file is a mistake
MAX_DEPTH = 40               # deeper than any schema allows
MAX_NODES = 100_000          # after alias expansion: stops "billion laughs"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_SCALARS = {f"{_TAG}{t}" for t in ("null", "bool", "int", "float", "str")}
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


@dataclass(frozen=True, eq=False)
class Document:
    """A loaded declaration: its display path, its data and its node tree for line numbers."""

    path: str
    data: dict[str, Any]
    root: Node

    def where(self, keys: tuple = (), on_key: bool = False) -> Location:
        """The location of the value at `keys` (or its key), else of the deepest part that exists."""
        mark = _find(self.root, keys, on_key).start_mark
        return Location(self.path, mark.line + 1, mark.column + 1, crumbs(keys))


def crumbs(keys: tuple) -> str:
    """`('matrix', 'nu', 2)` -> `matrix.nu[2]`."""
    out = ""
    for k in keys:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def _find(node: Node, keys: tuple, on_key: bool) -> Node:
    for i, key in enumerate(keys):
        child = None
        if isinstance(node, MappingNode):
            last = on_key and i == len(keys) - 1
            child = next(((k if last else v) for k, v in node.value if k.value == key), None)
        elif isinstance(node, SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        if child is None:
            return node
        node = child
    return node


def load(file: Path, display: str) -> Document:
    """Read and parse one declaration; raise SpecError with a line number for anything wrong."""
    text = _read_text(file, display)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, display, text) from None
    except yaml.YAMLError as exc:
        raise SpecError(Location(display, 1, 1), f"YAML error: {exc}") from None
    if root is None:
        raise SpecError(Location(display, 1, 1), "the file is empty",
                        "write a map of keys, e.g. `name: ...`")
    if not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        raise SpecError(_at(display, root), f"expected a map of keys at the top level, got {kind}")
    return Document(display, _Converter(display).value(root, 0), root)


def _read_text(file: Path, display: str) -> str:
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise SpecError(Location(display), f"the file is {size} bytes; a declaration may be at "
                            f"most {MAX_BYTES} bytes", "keep data in datasets, not in YAML")
        raw = file.read_bytes()
    except OSError as exc:
        raise SpecError(Location(display), f"cannot read the file: {exc.strerror}") from None
    if b"\0" in raw:
        line = raw[: raw.index(b"\0")].count(b"\n") + 1
        raise SpecError(Location(display, line, 1), "the file is binary (it contains a NUL byte)",
                        "declarations are UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(Location(display, line, col),
                        f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                        "save the file as UTF-8") from None


def _syntax_error(exc: yaml.MarkedYAMLError, display: str, text: str) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{exc.context}, {problem}"
    hint = ""
    lines = text.splitlines()
    if "\t" in problem or (0 < line <= len(lines) and "\t" in lines[line - 1]):
        hint = "YAML does not allow tabs for indentation; use spaces"
    return SpecError(Location(display, line, col), f"YAML syntax error: {problem}", hint)


def _at(display: str, node: Node, crumb: str = "") -> Location:
    return Location(display, node.start_mark.line + 1, node.start_mark.column + 1, crumb)


class _Converter:
    """Turns a node tree into dicts, lists and scalars, counting nodes as aliases expand."""

    def __init__(self, display: str) -> None:
        self.display, self.count = display, 0

    def value(self, node: Node, depth: int, keys: tuple = ()) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(_at(self.display, node, crumbs(keys)), f"more than {MAX_NODES} values "
                            "after expanding aliases", "anchors and aliases must not multiply data")
        if depth > MAX_DEPTH:
            raise SpecError(_at(self.display, node, crumbs(keys)),
                            f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, MappingNode):
            return self.mapping(node, depth, keys)
        if isinstance(node, SequenceNode):
            self._check_tag(node, f"{_TAG}seq", keys)
            return [self.value(v, depth + 1, keys + (i,)) for i, v in enumerate(node.value)]
        return self.scalar(node, keys)

    def scalar(self, node: ScalarNode, keys: tuple) -> Any:
        if node.tag == f"{_TAG}timestamp":
            return node.value  # dates stay as written: JSON has no date type
        if node.tag not in _SCALARS:
            self._refuse_tag(node, keys)
        return _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)

    def mapping(self, node: MappingNode, depth: int, keys: tuple) -> dict[str, Any]:
        self._check_tag(node, f"{_TAG}map", keys)
        out: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for knode, vnode in node.value:
            if knode.tag == f"{_TAG}merge":
                self._merge(out, vnode, depth, keys)
                continue
            if not isinstance(knode, ScalarNode):
                raise SpecError(_at(self.display, knode, crumbs(keys)), "a key must be a plain word")
            key = knode.value
            if key in seen:
                raise SpecError(_at(self.display, knode, crumbs(keys + (key,))),
                                f"duplicate key '{key}' (first at line {seen[key]})",
                                "remove one of them")
            seen[key] = knode.start_mark.line + 1
            out[key] = self.value(vnode, depth + 1, keys + (key,))
        return out

    def _merge(self, out: dict, vnode: Node, depth: int, keys: tuple) -> None:
        sources = vnode.value if isinstance(vnode, SequenceNode) else [vnode]
        for src in sources:
            merged = self.value(src, depth + 1, keys)
            if not isinstance(merged, dict):
                raise SpecError(_at(self.display, src, crumbs(keys)), "`<<` must merge a map")
            for k, v in merged.items():
                out.setdefault(k, v)

    def _check_tag(self, node: Node, expected: str, keys: tuple) -> None:
        if node.tag != expected:
            self._refuse_tag(node, keys)

    def _refuse_tag(self, node: Node, keys: tuple) -> None:
        raise SpecError(_at(self.display, node, crumbs(keys)), f"the tag {node.tag} is not allowed",
                        "declarations hold plain maps, lists, strings, numbers and booleans")
