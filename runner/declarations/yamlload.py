"""Load YAML declarations safely, keeping their text so errors can name a line.

libyaml composes the node tree (fast); this module turns nodes into plain values and refuses what
a declaration must never contain: duplicate keys, non-standard tags, alias bombs, deep nesting.
Files that are too big or not regular files (a FIFO, a device) are refused before being read.
A Document keeps its text, not its node tree: held to the end of a load of 2000 files, the trees
(570k objects) made the garbage collector's full passes cost 1.6 s, more than the loading itself;
the tree is composed again, once, if a position is asked for (an error, mostly). One Reader per
repository load holds the caches of repeated scalars.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runner.errors import Location, SpecError

MAX_BYTES = 1 << 20          # a declaration is small; a huge file is a mistake
MAX_DEPTH = 40               # deeper than any schema allows
MAX_NODES = 100_000          # after alias expansion: stops "billion laughs"

_TAG = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP, _MERGE = (f"{_TAG}{t}" for t in ("str", "seq", "map", "merge"))
_SCALARS = {f"{_TAG}{t}" for t in ("null", "bool", "int", "float", "str")}
_KEY_TAGS = _SCALARS | {f"{_TAG}timestamp"}
CACHE_LIMIT = 100_000        # entries per cache of a Reader
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SAFE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, with implicit tags remembered in its Reader (most scalars repeat)."""

    tags: dict[tuple, str]

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        key = (kind, value, implicit)
        try:
            return self.tags[key]
        except KeyError:
            tag = super().resolve(kind, value, implicit)
            if len(self.tags) < CACHE_LIMIT and (value is None or len(value) < 64):
                self.tags[key] = tag
            return tag

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass  # no path resolvers are registered: skip their bookkeeping

    def ascend_resolver(self) -> None:
        pass


@dataclass(frozen=True, eq=False)
class Document:
    """A loaded declaration: its display path, its data, and its text for line numbers."""

    path: str
    data: dict[str, Any]
    text: str

    def where(self, keys: tuple = (), on_key: bool = False) -> Location:
        """The location of the value at `keys` (or its key), else of the deepest part that exists."""
        mark = _find(self._root, keys, on_key).start_mark
        return Location(self.path, mark.line + 1, mark.column + 1, crumbs(keys))

    @cached_property
    def _root(self) -> Node:
        return yaml.compose(self.text, Loader=_SAFE_LOADER)  # it composed once: it cannot fail


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


class Reader:
    """Loads declarations, caching implicit tags and constructed scalars (ints, floats, booleans,
    nulls: immutable) for as long as it lives: make one per repository load."""

    def __init__(self) -> None:
        self.tags: dict[tuple, str] = {}
        self.values: dict[tuple[str, str], Any] = {}
        self.constructor = yaml.constructor.SafeConstructor()

    def load(self, file: Path, display: str, top: type = MappingNode) -> Document:
        """Read and parse one declaration; SpecError with a line number for anything wrong.
        `top`: what the file holds, a map (MappingNode) or a list (SequenceNode: a log filter
        file, runner/declarations/logfilters.py)."""
        return self.parse(_read_text(file, display), display, top)

    def parse(self, text: str, display: str, top: type = MappingNode) -> Document:
        """Parse the text of one declaration shown as `display` in messages."""
        root = self._compose(text, display)
        if root is None or (isinstance(root, ScalarNode) and root.tag == f"{_TAG}null"
                            and not root.value):
            raise SpecError(Location(display, 1, 1), "the file is empty",
                            "write a map of keys, e.g. `name: ...`")
        converter = _Converter(display, self)
        data = converter.value(root, 0)  # a forbidden tag is refused before a wrong top level
        if not isinstance(root, top):
            if top is SequenceNode:
                raise SpecError(_at(display, root), "expected a list at the top level, got "
                                f"{_top_word(data)}", "one `- filename: ...` per log file")
            raise SpecError(_at(display, root), "expected a map of keys at the top level, got "
                            f"{_top_word(data)}", "a declaration is a map: `name: ...` on the "
                            "first line")
        return Document(display, data, text)

    def _compose(self, text: str, display: str) -> Node | None:
        try:
            loader = _Loader(text)
            loader.tags = self.tags
            try:
                return loader.get_single_node()
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, display, text) from None
        except (yaml.YAMLError, RecursionError) as exc:
            raise SpecError(Location(display, 1, 1), f"YAML error: {exc}") from None


def parse(text: str, display: str) -> Document:
    """Parse the text of one declaration with caches of its own (a Reader, for many texts)."""
    return Reader().parse(text, display)


def _top_word(value: Any) -> str:
    """What a top level that is not a map holds, in a word (messages.type_word is the schema's)."""
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", type(None): "nothing (null)"}.get(type(value), "a single value")


def _read_text(file: Path, display: str) -> str:
    where = Location(display, 1, 1)
    try:
        info = os.stat(file)
        if not stat.S_ISREG(info.st_mode):
            raise SpecError(where, "not a regular file", "a declaration is a YAML text file")
        if info.st_size > MAX_BYTES:
            raise SpecError(where, _too_big(info.st_size), "keep data in datasets, not in YAML")
        with open(file, "rb") as fh:  # by its size: a 1 MB buffer per file was 5% of a load
            raw = fh.read(info.st_size + 1)
            if len(raw) > info.st_size:  # it grew since stat: read on, up to the limit
                raw += fh.read(MAX_BYTES + 1 - len(raw))
    except OSError as exc:
        raise SpecError(where, f"cannot read the file: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise SpecError(where, _too_big(len(raw)), "keep data in datasets, not in YAML")
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


def _too_big(size: int) -> str:
    return (f"the file is {size / (1 << 20):.1f} MB; a declaration may be at most "
            f"{MAX_BYTES / (1 << 20):.0f} MB")


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


def _short_crumbs(keys: tuple) -> str:
    return crumbs(keys) if len(keys) <= 8 else crumbs(keys[:8]) + "..."


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag if tag.startswith("!") \
        else f"!<{tag}>"


class _Converter:
    """Turns a node tree into dicts, lists and scalars, counting nodes as aliases expand."""

    def __init__(self, display: str, reader: Reader) -> None:
        self.display, self.reader, self.count, self.top = display, reader, 0, None

    def value(self, node: Node, depth: int, keys: tuple = ()) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            self._bomb(node, keys)
        if depth > MAX_DEPTH:
            raise SpecError(_at(self.display, node, _short_crumbs(keys)),
                            f"nested more than {MAX_DEPTH} levels deep")
        cls = node.__class__
        if cls is ScalarNode:
            return self.scalar(node, keys)
        if cls is MappingNode:
            return self.mapping(node, depth, keys)
        if node.tag != _SEQ:
            self._refuse_tag(node, keys)
        return [self.value(v, depth + 1, keys + (i,)) for i, v in enumerate(node.value)]

    def scalar(self, node: ScalarNode, keys: tuple) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == f"{_TAG}timestamp":
            return node.value  # dates stay as written: JSON has no date type
        if tag not in _SCALARS:
            self._refuse_tag(node, keys)
        key, cache = (tag, node.value), self.reader.values
        try:
            return cache[key]
        except KeyError:
            constructor = self.reader.constructor
            try:
                value = constructor.yaml_constructors[tag](constructor, node)
            except (ValueError, KeyError, TypeError, yaml.YAMLError):
                raise SpecError(_at(self.display, node, crumbs(keys)),
                                f"{node.value!r} is not a valid {_tag_name(tag)}") from None
            if len(cache) < CACHE_LIMIT:
                cache[key] = value
            return value

    def mapping(self, node: MappingNode, depth: int, keys: tuple) -> dict[str, Any]:
        if node.tag != _MAP:
            self._refuse_tag(node, keys)
        out: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for knode, vnode in node.value:
            if knode.tag == _MERGE:
                self._merge(out, vnode, depth, keys)
                continue
            if knode.__class__ is not ScalarNode:
                raise SpecError(_at(self.display, knode, crumbs(keys)), "a key must be a plain word")
            if knode.tag != _STR and knode.tag not in _KEY_TAGS:
                self._refuse_tag(knode, keys)
            key = knode.value
            if key in seen:
                raise SpecError(_at(self.display, knode, crumbs(keys + (key,))),
                                f"duplicate key '{key}' (first at line {seen[key]})",
                                "remove one of them")
            seen[key] = knode.start_mark.line + 1
            if not depth:
                self.top = knode
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

    def _bomb(self, node: Node, keys: tuple) -> None:
        at = self.top or node
        raise SpecError(_at(self.display, at, crumbs(keys[:1])),
                        f"the aliases (*name) here expand to more than {MAX_NODES} values",
                        "anchors and aliases must not multiply data")

    def _refuse_tag(self, node: Node, keys: tuple) -> None:
        raise SpecError(_at(self.display, node, crumbs(keys)),
                        f"the tag {_tag_name(node.tag)} is not allowed",
                        "declarations hold plain maps, lists, strings, numbers and booleans")
