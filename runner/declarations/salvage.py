"""What of a document that breaks its schema can still be checked against the other files.

A file with an unknown key (`matrx`) would otherwise hide its other mistakes (`heta`, `t_end: fast`,
found by the cross-file checks) until the first is fixed. The parts the schema rejects are cut out;
if what is left fits the schema, it is checked like a valid file, and errors about a part that
was cut out (or about what holds it) are dropped, since that part's own error says what is wrong.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import TYPE_CHECKING, Any, Iterable

from runner.errors import SpecError
from runner.declarations import schema
from runner.declarations.yamlload import Document, crumbs

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

ROUNDS = 3   # cutting a part may show one more error (a `oneOf` choice now fits no longer)
# keys without which the rest means something else (no `steps`: one implicit step of another
# application; no `infrastructure`: local): the file is then not checked further
STRUCTURAL = frozenset({"steps", "application", "infrastructure", "needs", "kind", "name"})


@dataclasses.dataclass(frozen=True)
class Salvaged:
    """A document with the parts that broke its schema cut out, and where those parts were."""

    doc: Document
    cut: tuple[tuple, ...] = ()     # key paths of the parts cut out

    def keeps(self, err: SpecError) -> bool:
        """Whether an error of the cut document is news: not at a cut part or what holds it, and
        naming no cut key (`input 'initial' is not bound` once `inputs.initial` is cut)."""
        said = f"{err.message} {err.hint}"
        return not any(_related(err.where.breadcrumb, crumbs(c))
                       or re.search(rf"\b{re.escape(str(c[-1]))}\b", said) for c in self.cut)


def salvage(doc: Document, kind: str) -> Salvaged | None:
    """`doc` without what its schema rejects; None when that leaves it invalid (a required key
    wrong or missing, a broken list item of a list that is required)."""
    data: Any = copy.deepcopy(doc.data)
    cut: list[tuple] = []
    for _ in range(ROUNDS):
        found = list(schema.validator(kind).iter_errors(data))
        if not found:
            return Salvaged(dataclasses.replace(doc, data=data), tuple(cut))
        paths = {p for err in found for p in _parts(err)}
        if any(not p or p[-1] in STRUCTURAL for p in paths):
            return None
        for path in paths:
            _cut(data, path)
        cut += paths
    return None


def _parts(err: "ValidationError") -> Iterable[tuple]:
    """The key paths to cut for one error; a bad list item takes its list along (cutting the item
    would move the ones after it, and their errors would name the wrong lines)."""
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        paths = [path + (k,) for k in err.instance if not _allowed(err.schema, k)] or [path]
    elif "propertyNames" in err.relative_schema_path:
        paths = [path + (err.instance,)]
    else:
        paths = [path]
    for p in paths:
        while p and isinstance(p[-1], int):
            p = p[:-1]
        yield p


def _allowed(sch: dict, key: str) -> bool:
    return key in sch.get("properties", {}) or \
        any(re.search(p, key) for p in sch.get("patternProperties", {}))


def _cut(data: Any, path: tuple) -> None:
    node = data
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _related(crumb: str, cut: str) -> bool:
    """Whether one breadcrumb is the other, or holds it."""
    short, long = sorted((crumb, cut), key=len)
    return not short or long == short or long.startswith((short + ".", short + "["))
