"""Which registry an application's images go to, and the NAMES of the variables that hold its
credentials. Values are read from the environment only at the moment a request needs them,
and never kept in anything that is printed or written.

By default this is GitLab's own registry (the variables every CI job gets); an application may
declare another one under `container.registry`, which then wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.declarations.models import Application, Repository

GITLAB_IMAGE, GITLAB_USER, GITLAB_PASSWORD = "CI_REGISTRY_IMAGE", "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD"


@dataclass(frozen=True)
class Access:
    """A registry path to push under, and the variables naming who to be there."""

    image: str | None            # HOST[:PORT]/PATH; None when no registry is known
    username: str | None = None  # the NAME of a variable, never its value
    password: str | None = None
    source: str = field(default="", compare=False)   # where this came from, for messages

    @property
    def host(self) -> str | None:
        return self.image.split("/", 1)[0] if self.image else None

    def credentials(self, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
        """(user, password) read from the named variables; None when either is unset."""
        env = os.environ if environ is None else environ
        user = env.get(self.username or "", "")
        password = env.get(self.password or "", "")
        return (user, password) if user and password else None

    def variables(self) -> str:
        """The variables to check, for messages: `A and B`."""
        names = [n for n in (self.username, self.password) if n]
        return " and ".join(names) or "(no credential variables declared)"


def gitlab(environ: Mapping[str, str] | None = None) -> Access:
    """GitLab's own registry, as every CI job is told of it."""
    env = os.environ if environ is None else environ
    image = env.get(GITLAB_IMAGE, "").strip().rstrip("/") or None
    return Access(image, GITLAB_USER, GITLAB_PASSWORD, "GitLab's CI_REGISTRY_* variables")


def for_application(app: Application, environ: Mapping[str, str] | None = None) -> Access:
    """Where `app`'s image is pushed: its declared registry, else GitLab's (CI_REGISTRY_IMAGE)."""
    reg = app.container.registry if app.container else None
    if reg is None:
        return gitlab(environ)
    return Access(reg.image.rstrip("/"), reg.username.env if reg.username else None,
                  reg.password.env if reg.password else None, f"container.registry in {app.path}")


def for_host(host: str, repo: Repository, environ: Mapping[str, str] | None = None) -> Access:
    """Credentials for pulling from `host`: a declared registry on that host, else GitLab's
    when it is GitLab's registry, else none (anonymous)."""
    env = os.environ if environ is None else environ
    for app in repo.applications.values():
        if app.container and app.container.registry:
            declared = for_application(app, env)
            if declared.host == host:
                return declared
    ours = gitlab(env)
    if host in (ours.host, env.get("CI_REGISTRY", "").strip()):
        return ours
    return Access(None, source=f"anonymous access to {host}")


def for_pull(app: Application, host: str, repo: Repository,
             environ: Mapping[str, str] | None = None) -> Access:
    """Credentials for pulling `app`'s image from `host`: the application's own registry when
    the image is there, else whatever `for_host` finds."""
    own = for_application(app, environ)
    if app.container and app.container.registry and own.host == host:
        return own
    return for_host(host, repo, environ)
