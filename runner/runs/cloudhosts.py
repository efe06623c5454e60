"""A run's servers on `openstack` infrastructures (runner/cloud/servers.py). They are made before
the run's places, and deleted (or kept warm) when it ends. In between, everything else sees
each server as a plain `ssh` host: the run works on a view of the repository in which every
server is an infrastructure of its own, named `<infrastructure>.<n>`. The run's tasks there
are dealt out over the servers, step by step, so that the n-th task of each step lands on the
same server.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections import Counter
from collections.abc import Iterable
from typing import Callable

from runner.cloud import servers
from runner.cloud.api import Cloud
from runner.declarations.models import Infrastructure, Repository
from runner.errors import MsoError
from runner.plan.resolve import RunPlan
from runner.runs.active import ActiveRun

RENEW_EVERY = servers.LEASE / 3    # seconds between two renewals of a watched run's lease
Say = Callable[[str], None]


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def clouds(repo: Repository, names: Iterable[str]) -> list[Infrastructure]:
    """The `openstack` infrastructures among these names."""
    infras = [repo.infrastructure(n) for n in sorted(set(names))]
    return [i for i in infras if i.kind == "openstack"]


def provision(repo: Repository, plan: RunPlan, run_id: str, skip: set[str],
              say: Say = _stderr) -> tuple[Repository, RunPlan, list[dict]]:
    """Servers for the plan's tasks on `openstack` infrastructures (those in `skip` are not
    run); the repository view with them, the plan with its tasks dealt out over them, and the
    entries for run.json. A failure deletes whatever was made, on every cloud."""
    todo = [t for t in plan.tasks if t.id not in skip]
    made: list[dict] = []
    try:
        for infra in clouds(repo, (t.infrastructure for t in todo)):
            widest = max(Counter(t.step for t in todo if t.infrastructure == infra.name).values())
            made += servers.provision(infra, run_id, widest, say)
    except BaseException:
        release(repo, run_id, made, say)
        raise
    if not made:
        return repo, plan, []
    return view(repo, made), dataclasses.replace(plan, tasks=_deal(plan, made)), made


def _deal(plan: RunPlan, made: list[dict]) -> tuple:
    """Each task on a cloud infrastructure moved to one of its servers: the k-th of a step on
    server k mod n."""
    on: dict[str, list[str]] = {}
    for e in made:
        on.setdefault(e["infrastructure"], []).append(e["place"])
    seen: Counter = Counter()
    out = []
    for t in plan.tasks:
        places = on.get(t.infrastructure)
        if places:
            k = seen[(t.infrastructure, t.step)]
            seen[(t.infrastructure, t.step)] += 1
            t = dataclasses.replace(t, infrastructure=places[k % len(places)])
        out.append(t)
    return tuple(out)


def view(repo: Repository, entries: list[dict]) -> Repository:
    """The repository with every server still there as an `ssh` infrastructure."""
    if not entries:
        return repo
    hosts = {e["place"]: _as_host(repo.infrastructure(e["infrastructure"]), e)
             for e in entries if not e.get("deleted") and e.get("address")}
    return dataclasses.replace(repo, infrastructures={**repo.infrastructures, **hosts})


def _as_host(infra: Infrastructure, e: dict) -> Infrastructure:
    return dataclasses.replace(infra, name=e["place"], kind="ssh", host=e["address"],
                               port=int(e["port"]), host_keys=e["host_keys"],
                               max_parallel=e.get("max_parallel") or infra.max_parallel,
                               openstack=None)


def release(repo: Repository, run_id: str, entries: list[dict], say: Say = _stderr) -> None:
    """Delete (or keep warm) a run's servers, per cloud; a failure is said, not raised: the
    lease runs out and `mso cloud cleanup` (or the next `mso run`) deletes them."""
    by: dict[str, list[dict]] = {}
    for e in entries:
        by.setdefault(e["infrastructure"], []).append(e)
    for name, mine in by.items():
        try:
            servers.release(repo.infrastructure(name), run_id, mine, say)
        except MsoError as exc:
            say(f"warning: {exc}; `mso cloud cleanup` deletes them once their lease runs out")


def close(run: ActiveRun, say: Say = _stderr) -> None:
    """The run ended: its servers go, and the record says when."""
    if run.record.servers and run.repo is not None:
        release(run.repo, run.record.run_id, run.record.servers, say)
        run.save()


def lost(run: ActiveRun) -> dict[str, str]:
    """The places whose server the cloud no longer has, or has in ERROR (place -> why), each
    marked deleted in the record; asked when a run resumes. A cloud that cannot be asked is a
    warning: the servers are assumed to be there."""
    out: dict[str, str] = {}
    for name, mine in _live_by_cloud(run).items():
        try:
            cloud = Cloud(run.repo.infrastructure(name))
            for e in mine:
                s = cloud.server(e["id"])
                if s is None or s.status in ("ERROR", "DELETED", "SOFT_DELETED"):
                    e.update(deleted=servers.now(), lost=True)
                    out[e["place"]] = (f"its server {e['name']} is "
                                       f"{'gone' if s is None else s.status} (deleted outside mso?)")
        except MsoError as exc:
            run.warn(run.record.tasks[0], f"could not ask the cloud about the servers: {exc}")
    return out


def _live_by_cloud(run: ActiveRun) -> dict[str, list[dict]]:
    by: dict[str, list[dict]] = {}
    if run.repo is not None:
        for e in run.record.servers:
            if not (e.get("deleted") or e.get("kept_until")):
                by.setdefault(e["infrastructure"], []).append(e)
    return by


def renew(run: ActiveRun) -> None:
    """While a runner watches the run, its servers' lease is renewed now and then."""
    by = _live_by_cloud(run)
    if not by or time.monotonic() - run.lease_renewed < RENEW_EVERY:
        return
    run.lease_renewed = time.monotonic()
    for name, mine in by.items():
        try:
            servers.renew(run.repo.infrastructure(name), mine)
        except MsoError as exc:
            run.warn(run.record.tasks[0], f"could not renew the servers' lease: {exc}")
