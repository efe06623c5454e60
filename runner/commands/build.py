"""`mso build [APP...] [--push]`: each application's image up to date in the registry, by digest."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add(sub) -> None:
    p = sub.add_parser("build", help="build (and push) container images of applications that "
                                     "changed; resolve declared images to their digests")
    p.add_argument("apps", nargs="*", metavar="APP", help="only these applications (default: all)")
    p.add_argument("--push", action="store_true",
                   help="push what was built to the registry and read back its digest")
    p.add_argument("--quiet", action="store_true", help="do not show the builder's output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner.containers import build
    from runner.declarations.repository import load_valid

    repo = load_valid(Path(args.repo).resolve())
    apps = build.select(repo, args.apps)
    session = build.Session(repo, say=_say, log=(lambda _: None) if args.quiet else _log)
    outcomes = build.run(session, apps, args.push)
    if args.json:
        print(json.dumps({"ok": True, "images": [vars(o) for o in outcomes]}, indent=2))
    else:
        _lines(outcomes)
    return 0


def _say(line: str) -> None:
    print(f"mso: {line}", file=sys.stderr, flush=True)


def _log(line: str) -> None:
    print(f"  | {line}", file=sys.stderr, flush=True)


def _lines(outcomes: list) -> None:
    if not outcomes:
        print("no application declares a container")
    width = max((len(o.app) for o in outcomes), default=0)
    for o in outcomes:
        digest = f" {o.digest}" if o.digest else ""
        note = f" ({o.note})" if o.note else ""
        print(f"{o.app:<{width}}  {o.state:<10}  {o.reference}{digest}{note}")
