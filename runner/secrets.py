"""Secrets mso knows of, kept out of what tasks see and out of what mso writes.

A secret is the value of an environment variable that a declaration names as one (an
infrastructure's `key` or `password`, a dataset's `credentials`), a GitLab token, or a variable
listed in MSO_SECRET_VARS (comma-separated). Local tasks start without these variables, and the
logs mso copies into results/ have every secret value replaced by [MASKED], as GitLab masks its
job logs. (Outputs are data, hashed as written: they are never rewritten.)
"""

from __future__ import annotations

import os

MASK = "[MASKED]"
MIN_LENGTH = 6   # shorter values would mask ordinary words (GitLab's masked variables need 8)
GITLAB = ("MSO_GITLAB_TOKEN", "CI_JOB_TOKEN", "CI_BUILD_TOKEN", "CI_REGISTRY_PASSWORD",
          "CI_DEPLOY_PASSWORD", "CI_JOB_JWT", "CI_JOB_JWT_V1", "CI_JOB_JWT_V2",
          "CI_REPOSITORY_URL")   # the last holds the job token in its URL

_declared: set[str] = set()


def declare(repo) -> None:
    """Remember the secrets a repository's declarations name (called once a repository loads)."""
    for infra in repo.infrastructures.values():
        _declared.update(ref.env for ref in (infra.key, infra.password) if ref is not None)
    for ds in repo.datasets.values():
        _declared.update(ref.env for ref in ds.credentials.values())


def declare_env(name: str | None) -> None:
    """Remember one more variable holding a secret (a token named on the command line)."""
    if name:
        _declared.add(name)


def names() -> set[str]:
    extra = {n.strip() for n in os.environ.get("MSO_SECRET_VARS", "").split(",") if n.strip()}
    return set(GITLAB) | _declared | extra


def values() -> list[str]:
    """The secret values set in this environment, longest first (so none is half-masked)."""
    found = {os.environ.get(n, "").strip() for n in names()}
    return sorted((v for v in found if len(v) >= MIN_LENGTH), key=len, reverse=True)


def task_environment() -> dict[str, str]:
    """This process's environment without the secrets: what a local task starts with."""
    hidden = names()
    return {k: v for k, v in os.environ.items() if k not in hidden}


def mask(text: str) -> str:
    for value in values():
        text = text.replace(value, MASK)
    return text


def mask_bytes(data: bytes) -> bytes:
    for value in values():
        data = data.replace(value.encode(), MASK.encode())
    return data
