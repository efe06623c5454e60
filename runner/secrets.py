"""Secrets mso knows of, kept out of what tasks see and out of what mso writes.

A secret is the value of an environment variable that a declaration names as one (an
infrastructure's `key` or `password`, a dataset's `credentials`), a GitLab token, or a variable
listed in MSO_SECRET_VARS (comma-separated). Local tasks start without these variables, and the
logs mso copies into results/ have every secret value replaced by [MASKED], as GitLab masks its
job logs. (Outputs are data, hashed as written: they are never rewritten.)

The set is a value (`Secrets`), made from a repository's declarations and handed down with the
rest of a command's context: nothing here is remembered between calls.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

MASK = "[MASKED]"
MIN_LENGTH = 6   # shorter values would mask ordinary words (GitLab's masked variables need 8)
GITLAB = ("MSO_GITLAB_TOKEN", "CI_JOB_TOKEN", "CI_BUILD_TOKEN", "CI_REGISTRY_PASSWORD",
          "CI_DEPLOY_PASSWORD", "CI_JOB_JWT", "CI_JOB_JWT_V1", "CI_JOB_JWT_V2",
          "CI_REPOSITORY_URL")   # the last holds the job token in its URL


def unset(infra: Any) -> set[str]:
    """The environment variables an infrastructure needs (infra.secrets()) that are not set."""
    return {ref.env for ref in infra.secrets() if not os.environ.get(ref.env, "").strip()}


@dataclass(frozen=True)
class Secrets:
    """The variables whose values are secret, beyond the GitLab tokens and MSO_SECRET_VARS."""

    declared: frozenset[str] = frozenset()
    environ: Mapping[str, str] | None = None   # None: this process's environment, read when used

    @classmethod
    def of(cls, repo: Any, *more: str | None) -> "Secrets":
        """The secrets a repository's declarations name (infrastructures' `key`, `password` and
        slurmrestd token, datasets' `credentials`, applications' image registry `username` and
        `password`), plus the variables `more` names."""
        found = {ref.env for infra in repo.infrastructures.values()
                 for ref in (infra.key, infra.password, infra.api.token if infra.api else None)
                 if ref is not None}
        creds = [ds.credentials for ds in repo.datasets.values()]
        creds += [exp.outputs.credentials for exp in repo.experiments.values() if exp.outputs]
        # a credential given as a plain value (a remote's type or URL) is not a secret
        found |= {ref.env for c in creds for ref in c.values() if hasattr(ref, "env")}
        registries = [app.container.registry for app in repo.applications.values()
                      if app.container is not None and app.container.registry is not None]
        found |= {ref.env for r in registries for ref in (r.username, r.password) if ref is not None}
        return cls(frozenset(found | {m for m in more if m}))

    def adding(self, *names: str | None) -> "Secrets":
        """The same set with more variables (a token named on the command line)."""
        return Secrets(self.declared | {n for n in names if n}, self.environ)

    @property
    def _env(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ

    def names(self) -> set[str]:
        extra = {n.strip() for n in self._env.get("MSO_SECRET_VARS", "").split(",") if n.strip()}
        return set(GITLAB) | self.declared | extra

    def values(self) -> list[str]:
        """The secret values set in the environment, longest first (so none is half-masked)."""
        env = self._env
        found = {env.get(n, "").strip() for n in self.names()}
        return sorted((v for v in found if len(v) >= MIN_LENGTH), key=len, reverse=True)

    def task_environment(self) -> dict[str, str]:
        """The environment without the secrets: what a local task starts with."""
        hidden = self.names()
        return {k: v for k, v in self._env.items() if k not in hidden}

    def mask(self, text: str) -> str:
        for value in self.values():
            text = text.replace(value, MASK)
        return text

    def mask_bytes(self, data: bytes) -> bytes:
        for value in self.values():
            data = data.replace(value.encode(), MASK.encode())
        return data
