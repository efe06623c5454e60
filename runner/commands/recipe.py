"""`mso recipe convert FILE [--to docker|singularity] [-o OUT] [--force]`: Dockerfile <-> definition."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from runner.commands.common import common_options


def add(sub) -> None:
    p = sub.add_parser("recipe", help="work with container recipes")
    verbs = p.add_subparsers(dest="recipe_verb", metavar="ACTION", required=True)
    c = verbs.add_parser("convert", parents=[common_options(False)],
                         help="convert a Dockerfile to an Apptainer/Singularity definition or "
                              "back (with spython)")
    c.add_argument("file", type=Path, metavar="FILE")
    c.add_argument("--to", choices=("docker", "singularity"),
                   help="what to write (default: the other kind)")
    c.add_argument("-o", "--output", type=Path, metavar="OUT",
                   help="where (default: Singularity.def or Dockerfile beside FILE)")
    c.add_argument("--force", action="store_true", help="replace OUT if it exists")
    c.set_defaults(func=convert)


def convert(args: argparse.Namespace) -> int:
    from runner.containers import convert as conv

    src = args.file
    to = args.to or ("singularity" if conv.kind_of(src) == "docker" else "docker")
    out = args.output or conv.default_output(src, to)
    conv.write(src, out, to, force=args.force)
    if args.json:
        print(json.dumps({"ok": True, "source": str(src), "output": str(out), "to": to}))
    else:
        print(f"wrote {out} ({'Dockerfile' if to == 'docker' else 'definition'}, from {src})")
    return 0
