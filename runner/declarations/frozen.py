"""Read-only records and their plain JSON form: what every declaration record is built with."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

EMPTY: Mapping[str, Any] = MappingProxyType({})
_SCALARS = frozenset({str, int, float, bool, type(None)})
# field metadata: LATER, a field added after runs were recorded, is left out of the plain form
# (and so of the spec hash) at its default; NOT_PLAIN, a field that is never in it
LATER, NOT_PLAIN = MappingProxyType({"later": True}), MappingProxyType({"plain": False})


def freeze(value: Any) -> Any:
    """Dicts become read-only mappings and lists tuples, all the way down."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def plain(value: Any) -> Any:
    """The JSON-ready form of a record (for hashing, --json and the book)."""
    if type(value) in _SCALARS:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if _in_plain(f, value)}
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _in_plain(f: dataclasses.Field, record: Any) -> bool:
    if not f.metadata:
        return True
    if not f.metadata.get("plain", True):
        return False
    default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    return not (f.metadata.get("later") and getattr(record, f.name) == default)
