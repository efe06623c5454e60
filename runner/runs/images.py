"""A run's images: each application's image resolved to a digest when the run is created, before
anything is staged or submitted; fetched once per infrastructure into its cache (one pull for a
sweep of any size, none when the digest is cached); recorded in run.json; handed to the job
wrapper, which runs the command in it (runner/containers/runtime.py).

Where a digest comes from: `.mso/images.json` when `mso build` recorded the application's
current content tag (or its declared reference), else the registry, asked for the content-tag
reference (a recipe) or the declared one (`image:`). Only applications whose tasks run on an
infrastructure with a container runtime are resolved: with `none` the host runs the command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.containers import access as accesses, cache, images as built, recipe, runtime
from runner.containers.access import Access
from runner.containers.reference import Reference, parse
from runner.declarations.construct import split_ref
from runner.declarations.models import Application, Infrastructure, Repository
from runner.errors import ContainerError
from runner.plan.resolve import RunPlan
from runner.plan.reuse import Source
from runner.runs.active import Place

SIF_BUILDERS = ("apptainer", "singularity")   # their images are SIF files kept as OCI artifacts
UNRESOLVED = "DIGEST"                          # in a dry run's scripts, when no digest is known


@dataclass(frozen=True)
class Resolved:
    """An application's image: its reference with the digest, and who may pull it."""

    application: str
    reference: Reference
    access: Access
    sif: bool = False


def uses(repo: Repository, plan: RunPlan) -> dict[str, set[str]]:
    """Infrastructure name -> the applications with a container that run there in a runtime."""
    found: dict[str, set[str]] = {}
    for t in plan.tasks:
        app = repo.applications[split_ref(t.application)[0]]
        if app.container and repo.infrastructure(t.infrastructure).container_runtime != runtime.NONE:
            found.setdefault(t.infrastructure, set()).add(app.name)
    return found


def resolve(repo: Repository, plan: RunPlan,
            environ: Mapping[str, str] | None = None) -> dict[str, Resolved]:
    """The pinned image of every application the run needs one for; a ContainerError (one line)
    for an image the registry lacks."""
    env = dict(os.environ if environ is None else environ)
    names = sorted({a for apps in uses(repo, plan).values() for a in apps})
    recorded = built.read(Path(repo.root)) if names else {}
    return {n: _resolve(repo, repo.applications[n], recorded.get(n), env) for n in names}


def _resolve(repo: Repository, app: Application, rec: built.Image | None,
             env: Mapping[str, str]) -> Resolved:
    c = app.container
    if c.image:
        ref = _parsed(app, c.image, "container.image")
        access = accesses.for_pull(app, ref.registry, repo, env)
        if ref.digest:
            return Resolved(app.name, ref, access)
        if rec and rec.source == "image" and rec.reference == str(ref) and rec.digest:
            return Resolved(app.name, ref.with_digest(rec.digest), access)
        return Resolved(app.name, _ask(ref, access, env, f"{app.path}: container.image {ref} "
                                       "is not in the registry (no such tag): push it, or "
                                       "correct the reference"), access)
    tag = recipe.content_tag(Path(repo.root), app)
    access = accesses.for_application(app, env)
    sif = c.definition is not None or bool(rec and rec.builder in SIF_BUILDERS)
    if rec and rec.source == "build" and rec.tag == tag and rec.digest:
        return Resolved(app.name, parse(rec.reference).with_digest(rec.digest), access, sif)
    if not access.image:
        raise ContainerError(f"{app.name}: no image of its current recipe is recorded in "
                             f"{built.RELATIVE} and no registry is known (set "
                             f"{accesses.GITLAB_IMAGE} or declare container.registry); run "
                             f"`mso build --push {app.name}` first")
    ref = _parsed(app, f"{access.image}/{app.name}:{tag}", "container.registry.image")
    return Resolved(app.name, _ask(ref, access, env, f"{app.name}: {ref} is not in the registry "
                                   "(its current recipe was not built and pushed): run "
                                   f"`mso build --push {app.name}` first"), access, sif)


def _ask(ref: Reference, access: Access, env: Mapping[str, str], missing: str) -> Reference:
    """`ref` with the digest the registry answers; ContainerError(`missing`) when it lacks it."""
    from runner.containers.registry import Registry   # requests: only a run that asks loads it
    client = Registry(ref.registry, access, environ=env)
    try:
        digest = client.digest(ref)
    finally:
        client.close()
    if digest is None:
        raise ContainerError(missing)
    return ref.with_digest(digest)


def _parsed(app: Application, text: str, key: str) -> Reference:
    try:
        return parse(text)
    except ContainerError as exc:
        raise ContainerError(f"{app.path}: {key}: {exc}") from None


def same_digests(plan: RunPlan, reuse: Mapping[str, Source], resolved: Mapping[str, Resolved]
                 ) -> tuple[dict[str, Source], list[str]]:
    """The reusable tasks that ran in the digest this run resolves (or in none, as now), and a
    line for each image that moved since they ran (for `mso plan`)."""
    tasks = {t.id: t for t in plan.tasks}
    kept, moved = {}, {}
    for tid, source in reuse.items():
        t = tasks[tid]
        app = split_ref(t.application)[0]
        now = resolved[app].reference.digest if app in resolved else None
        then = source.images.get((t.infrastructure, app))
        if then == now:
            kept[tid] = source
        else:
            moved[(app, t.infrastructure)] = (then, now)
    return kept, [f"application {app}: image digest on {infra}: {_short(then)} → {_short(now)}"
                  for (app, infra), (then, now) in sorted(moved.items())]


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "none"   # sha256: and 12 digits


# --- fetching into each infrastructure's cache ------------------------------------------------

def fetch(repo: Repository, plan: RunPlan, places: Mapping[str, Place],
          resolved: Mapping[str, Resolved], environ: Mapping[str, str] | None = None) -> list[dict]:
    """Make every image the run needs exist in each infrastructure's cache (a pull only when it
    is not there); the entries for run.json's `images`. Only infrastructures with a place (where
    some task runs) are asked."""
    env = os.environ if environ is None else environ
    entries = []
    for name, apps in sorted(uses(repo, plan).items()):
        place = places.get(name)
        if place is None:
            continue
        rt = runtime.get(place.infra.container_runtime)
        root = str(place.area.root.parent)
        mounts = rt.mount_points(_image(place.infra, rt, "", root))
        host = _host_path(env) if place.infra.kind == "local" else {}
        setup = cache.HostSetup(place.infra.modules, {**host, **place.infra.environment})
        for app in sorted(apps):
            r = resolved[app]
            got = cache.fetch(place.scheduler.transport, root, rt, r.reference, _where(place.infra),
                              creds=r.access.credentials(env), sif=r.sif,
                              setup=setup, mount_points=mounts)
            entries.append({"application": app, "infrastructure": name, "runtime": rt.name,
                            "reference": _named(r.reference), "digest": r.reference.digest,
                            "path": rt.location(got.path, r.reference.pinned),
                            "pulled": got.pulled})
    return entries


def _host_path(env: Mapping[str, str]) -> dict[str, str]:
    """PATH for the image tools on this machine: the runner's, without its own interpreter's
    folder, which a local task gets first (ch-image is a script for the system's python3)."""
    own = os.path.realpath(os.path.dirname(sys.executable))
    kept = [d for d in env.get("PATH", "").split(os.pathsep) if d and os.path.realpath(d) != own]
    return {"PATH": os.pathsep.join(kept)}


def for_jobs(entries: list[dict], places: Mapping[str, Place]) -> dict[tuple[str, str], runtime.Image]:
    """(infrastructure, application) -> the image its jobs run in, from run.json's entries."""
    out = {}
    for e in entries:
        place = places[e["infrastructure"]]
        out[(e["infrastructure"], e["application"])] = _image(
            place.infra, runtime.get(e["runtime"]), e["path"], str(place.area.root.parent))
    return out


def planned(repo: Repository, plan: RunPlan, roots: Mapping[str, str]) -> dict[tuple[str, str], runtime.Image]:
    """The images a dry run renders with: digests from .mso/images.json where it has the
    current one (no registry and no host is asked), else the placeholder DIGEST."""
    recorded = built.read(Path(repo.root))
    out = {}
    for name, apps in uses(repo, plan).items():
        infra = repo.infrastructure(name)
        rt = runtime.get(infra.container_runtime)
        for app in apps:
            digest = _recorded_digest(repo, repo.applications[app], recorded.get(app))
            path = cache.entry_path(roots[name], rt, digest or f"sha256:{UNRESOLVED}")
            out[(name, app)] = _image(infra, rt, path, roots[name])
    return out


def _recorded_digest(repo: Repository, app: Application, rec: built.Image | None) -> str | None:
    if rec is None or rec.digest is None:
        return None
    if app.container.image:
        return rec.digest if rec.reference == app.container.image else None
    return rec.digest if rec.tag == recipe.content_tag(Path(repo.root), app) else None


def _image(infra: Infrastructure, rt: runtime.Runtime, location: str, root: str) -> runtime.Image:
    return runtime.Image(rt.name, location, root, tuple(map(runtime.parse_bind, infra.volumes)),
                         infra.gpu_vendor, infra.kind)


def _named(ref: Reference) -> str:
    """The reference without its digest: registry/repository[:tag]."""
    return ref.name + (f":{ref.tag}" if ref.tag else "")


def _where(infra: Infrastructure) -> str:
    return (f"infrastructure '{infra.name}' ({infra.host or 'this machine'}, "
            f"container_runtime: {infra.container_runtime})")
