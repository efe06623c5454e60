"""`mso build`: for each application, its image up to date in the registry, pinned by digest.

An application with a recipe gets its content tag (runner/containers/recipe.py); the registry
is asked first, and an image it already holds is neither rebuilt nor pushed. Otherwise the
chosen builder builds it, and with `push` it is pushed (transient failures retried) and its
digest read back from the registry. An application with `image: REF` is resolved to its digest.
What was built or resolved goes into .mso/images.json (runner/containers/images.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from runner.containers import access as accesses, builders, images, recipe
from runner.containers.access import Access
from runner.containers.process import Transient
from runner.containers.reference import Reference, parse
from runner.containers.registry import AuthRequired, Registry, Retry
from runner.declarations import yamlload
from runner.declarations.messages import did_you_mean
from runner.declarations.models import Application, Repository
from runner.errors import ContainerError, MsoError, SpecError
from runner.words import plural

Say = Callable[[str], None]


@dataclass(frozen=True)
class Outcome:
    """What happened to one application's image."""

    app: str
    state: str                  # "up to date", "built", "pushed" or "resolved"
    reference: str
    tag: str | None
    digest: str | None
    builder: str | None = None
    source: str = "build"       # "build" (a recipe) or "image" (a declared reference)
    note: str = ""

    def image(self) -> images.Image:
        return images.Image(self.reference, self.tag, self.digest, self.builder, self.source)


class Session:
    """One `mso build`: the repository, one client per registry, what has been said."""

    def __init__(self, repo: Repository, say: Say, log: Say,
                 environ: Mapping[str, str] | None = None) -> None:
        self.repo, self.root, self.say, self.log = repo, Path(repo.root), say, log
        self.environ = dict(os.environ if environ is None else environ)
        self.retry = Retry.from_env(self.environ)
        self._clients: dict[tuple[str, Access], Registry] = {}
        self._announced: set[str] = set()

    def registry(self, host: str, access: Access) -> Registry:
        key = (host, access)
        if key not in self._clients:
            self._clients[key] = Registry(host, access, self.retry, self.environ)
        return self._clients[key]

    def announce(self, builder: str, why: str) -> None:
        if builder not in self._announced:
            self._announced.add(builder)
            self.say(f"building with {builder} ({why})")

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def select(repo: Repository, names: list[str]) -> list[Application]:
    """The applications named (all with a container when none are), unknown names refused."""
    for name in names:
        if name not in repo.applications:
            hint = did_you_mean(name, sorted(repo.applications), "applications")
            raise ContainerError(f"unknown application '{name}'" + (f" ({hint})" if hint else ""))
    chosen = [repo.applications[n] for n in dict.fromkeys(names)] or \
        [a for _, a in sorted(repo.applications.items())]
    return [a for a in chosen if a.container is not None]


def run(session: Session, apps: list[Application], push: bool) -> list[Outcome]:
    """Bring each application's image up to date; record what succeeded, even after a failure."""
    done: list[Outcome] = []
    try:
        for app in apps:
            outcome = resolve(session, app) if app.container.image else build(session, app, push)
            done.append(outcome)
    finally:
        images.record(session.root, {o.app: o.image() for o in done},
                      keep=set(session.repo.applications))
        session.close()
    return done


# --- image: REF ----------------------------------------------------------------------------

def resolve(session: Session, app: Application) -> Outcome:
    """A declared image reference and its digest, from the registry."""
    ref = _parsed(session, app, app.container.image, ("container", "image"))
    access = accesses.for_pull(app, ref.registry, session.repo, session.environ)
    found = session.registry(ref.registry, access).digest(ref)
    if found is None:
        raise _declared(session, app, ("container", "image"),
                        f"{ref} is not in the registry (no such tag or digest)",
                        "push it first, or correct the reference")
    return Outcome(app.name, "resolved", str(ref), ref.tag, found, source="image")


# --- build: a recipe -------------------------------------------------------------------------

def build(session: Session, app: Application, push: bool) -> Outcome:
    """Ask the registry for the content tag; build (and push) only when it lacks it."""
    tag = recipe.content_tag(session.root, app)
    access = accesses.for_application(app, session.environ)
    target = _target(session, app, access, tag)
    creds = access.credentials(session.environ)
    if access.image:
        client = session.registry(target.registry, access)
        try:
            found = client.digest(target)
        except AuthRequired:
            found = None   # no credentials to ask with: build, and say why it is not pushed
        if found:
            return Outcome(app.name, "up to date", str(target), tag, found)
    name = _builder(session, app)
    job = _job(session, app, target, access, creds)
    session.log(f"{app.name}: building {target} with {name}")
    builders.build(name, job, creds, session.log, session.environ)
    if not push:
        return Outcome(app.name, "built", str(target), tag, None, name, note="not pushed (--push pushes)")
    if not access.image or not creds:
        session.say(f"{app.name}: built, not pushed: no registry credentials ({_missing(access)})")
        return Outcome(app.name, "built", str(target), tag, None, name,
                       note=f"not pushed: no registry credentials ({_missing(access)})")
    _push(session, name, job, creds)
    digest = session.registry(target.registry, access).digest(target)
    if digest is None:
        raise ContainerError(f"{app.name}: {target} was pushed but the registry does not list it")
    return Outcome(app.name, "pushed", str(target), tag, digest, name)


def _target(session: Session, app: Application, access: Access, tag: str) -> Reference:
    """`<registry image>/<app>:<tag>`, or a local name when no registry is known."""
    if not access.image:
        return Reference("localhost", f"mso/{app.name}", tag)
    if app.container.registry:
        return _parsed(session, app, f"{access.image}/{app.name}:{tag}",
                       ("container", "registry", "image"))
    try:
        return parse(f"{access.image}/{app.name}:{tag}")
    except ContainerError as exc:
        raise ContainerError(f"{accesses.GITLAB_IMAGE}: {exc}") from None


def _builder(session: Session, app: Application) -> str:
    definition = app.container.definition is not None
    name = builders.choose(definition, session.environ)
    why = ("MSO_BUILDER" if session.environ.get("MSO_BUILDER")
           else "the first installed of " + ", ".join(
               builders.FOR_DEFINITION if definition else builders.FOR_DOCKERFILE)
           + "; MSO_BUILDER chooses")
    session.announce(name, why)
    return name


def _job(session: Session, app: Application, target: Reference, access: Access,
         creds: tuple[str, str] | None) -> builders.Job:
    path = recipe.recipe_path(session.root, app)
    definition = app.container.definition is not None
    bases = recipe.base_images(path, dict(app.container.args), definition)
    private = bool(creds) and any(_host(b) == access.host for b in bases)
    return builders.Job(app.name, path, definition, recipe.context_path(session.root, app),
                        target, app.container.args, session.root / ".mso" / "build", private)


def _host(image: str) -> str | None:
    try:
        return parse(image).registry
    except ContainerError:
        return None


def _push(session: Session, name: str, job: builders.Job, creds: tuple[str, str]) -> None:
    """Push, retrying while the registry is unreachable; then one line saying it failed."""
    retry = session.retry
    attempts = Retrying(stop=stop_after_attempt(retry.attempts), reraise=True,
                        wait=wait_exponential(multiplier=retry.first_wait, max=retry.max_wait),
                        retry=retry_if_exception_type(Transient),
                        before_sleep=lambda s: session.say(
                            f"{job.app}: push failed (registry unreachable); attempt "
                            f"{s.attempt_number + 1} of {retry.attempts} in "
                            f"{s.next_action.sleep:.0f} s"))
    session.log(f"{job.app}: pushing {job.target}")
    try:
        attempts(builders.push, name, job, creds, session.log, session.environ)
    except Transient as exc:
        raise ContainerError(f"{job.app}: push to {job.target} failed after "
                             f"{plural(retry.attempts, 'attempt')}, the registry did not answer: "
                             f"{exc.reason}; nothing "
                             "was recorded as built") from None


def _missing(access: Access) -> str:
    if not access.image:
        return f"set {accesses.GITLAB_IMAGE} or declare container.registry"
    return f"set {access.variables()}"


# --- errors that point into the declaration -----------------------------------------------------

def _parsed(session: Session, app: Application, text: str, keys: tuple) -> Reference:
    try:
        return parse(text)
    except ContainerError as exc:
        raise _declared(session, app, keys, str(exc)) from None


def _declared(session: Session, app: Application, keys: tuple, message: str,
              hint: str = "") -> MsoError:
    """An error at the declaration's file and line (the file is read again only for this)."""
    try:
        doc = yamlload.Reader().load(session.root / app.path, app.path)
    except SpecError:
        return ContainerError(f"{app.path}: {message}")
    return SpecError(doc.where(keys), message, hint)
