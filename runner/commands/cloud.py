"""`mso cloud list|cleanup [INFRASTRUCTURE...]`: the servers mso made on `openstack`
infrastructures, and deleting those no live run holds (runner/cloud/servers.py's rules)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from runner.errors import MsoError


def add(sub) -> None:
    p = sub.add_parser("cloud", help="list mso's cloud servers, or delete those no run holds")
    p.add_argument("action", choices=("list", "cleanup"))
    p.add_argument("infrastructures", nargs="*", metavar="INFRASTRUCTURE",
                   help="`openstack` infrastructures (default: all of them)")
    p.add_argument("--dry-run", action="store_true", help="cleanup: say what would be deleted")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner.declarations.repository import load_valid
    repo = load_valid(args.repo)
    infras = _chosen(repo, args.infrastructures)
    results = Path(repo.root) / "results"
    shown: list[dict] = []
    for infra in infras:
        if args.action == "list":
            shown += _listed(infra)
        else:
            say = (lambda _: None) if args.json else print
            gone = cleanup(infra, results, say, args.dry_run)
            shown += [{"infrastructure": infra.name, "server": n,
                       "deleted": not args.dry_run} for n in gone]
    if args.json:
        print(json.dumps(shown, indent=1))
    elif args.action == "list":
        for s in shown:
            print(f"{s['infrastructure']}  {s['name']}  {s['status']}  run {s['run'] or '-'}"
                  f"{'  (warm)' if s['warm'] else ''}")
        if not shown:
            print("no servers made by mso")
    elif not shown:
        print("nothing to delete: every server mso made is held by a live run")
    return 0


def cleanup(infra, results: Path, say, dry_run: bool = False) -> list[str]:
    """Delete the servers no live run holds (as `mso run` does before it starts)."""
    from runner.cloud import servers
    return servers.cleanup(infra, lambda run_id: run_state(results, run_id), say, dry_run)


def run_state(results: Path, run_id: str) -> str | None:
    """The state a run's record in results/ says, None when it is not there."""
    from runner import state
    if not run_id:
        return None
    for path in results.glob(f"*/{run_id}/{state.RECORD}"):
        return state.load(path).state.value
    return None


def _chosen(repo, names: list[str]) -> list:
    clouds = {n: i for n, i in repo.infrastructures.items() if i.kind == "openstack"}
    for n in names:
        if n not in clouds:
            raise MsoError(f"'{n}' is not an `openstack` infrastructure "
                           f"(those: {', '.join(sorted(clouds)) or 'none'})")
    return [clouds[n] for n in (names or sorted(clouds))]


def _listed(infra) -> list[dict]:
    from runner.cloud import servers
    from runner.cloud.api import Cloud
    return [{"infrastructure": infra.name, "name": s.name, "id": s.id, "status": s.status,
             "run": s.metadata.get("mso_run", ""), "warm": servers.WARM in s.tags,
             "address": s.address, "port": s.port}
            for s in Cloud(infra).tagged(servers.TAG)
            if s.metadata.get("mso_infrastructure") == infra.name]
