"""A request as a stand-in of a public API (tests/publish/gitlab_standin.py,
tests/cloud/openstack_standin/) received it, for tests to look at."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived, without its secrets (each stand-in says which it leaves out
    or hides)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None
