"""`mso book build [--site DIR] [--strict]`: generate the pages, build the site; `mso book serve`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from runner.commands.common import common_options


def add(sub: argparse._SubParsersAction) -> None:
    """Register `mso book build`."""
    p = sub.add_parser("book", help="build the book (mkdocs-material) from specs and results")
    verbs = p.add_subparsers(dest="book_verb", metavar="ACTION", required=True)
    # `-C` and `--json` after `book build` too (the verb parser takes them before `build`)
    b = verbs.add_parser("build", parents=[common_options(False)],
                         help="generate the pages into .mso/book/docs and build the site",
                         description="Generate Markdown pages for every application, dataset, "
                         "infrastructure, experiment and run, add the hand-written pages (book/), "
                         "and build the site with mkdocs-material.")
    b.add_argument("--site", type=Path, metavar="DIR",
                   help="where the site goes (default: site/ in the repository)")
    b.add_argument("--strict", action="store_true",
                   help="treat warnings (broken links, skipped run records) as errors")
    b.set_defaults(func=run)
    s = verbs.add_parser("serve", parents=[common_options(False)],
                         help="serve the built book on 127.0.0.1 until Ctrl-C",
                         description="Serve the site that `mso book build` wrote, on 127.0.0.1 "
                         "only, until Ctrl-C (exit 130, as any interrupted mso command).")
    s.add_argument("--site", type=Path, metavar="DIR",
                   help="the built site (default: site/ in the repository)")
    s.add_argument("--port", type=_port, default=8000, metavar="N",
                   help="the port (default: 8000; 0 takes a free one)")
    s.set_defaults(func=serve)


def _port(text: str) -> int:
    """A TCP port for argparse: 0 to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535; 0: a free one)")
    return int(text)


def run(args: argparse.Namespace) -> int:
    """Build the book; 0 when the site is there."""
    from runner.book.build import build
    if not args.json:
        print("mso: book: generating pages ...", file=sys.stderr)
    built = build(Path(args.repo), args.site, args.strict)
    if args.json:
        print(json.dumps({"ok": True, "docs": str(built.docs), "site": str(built.site),
                          "pages": built.pages, "handwritten": built.handwritten,
                          "files": built.files, "runs": built.runs, "warnings": built.warnings,
                          "seconds": {"generate": round(built.generate_seconds, 3),
                                      "mkdocs": round(built.mkdocs_seconds, 3)}}, indent=2))
        return 0
    for warning in built.warnings:
        print(f"mso: book: {warning}", file=sys.stderr)
    print(f"mso: book: {built.pages} pages ({built.runs} runs, {built.files} result files) in "
          f"{built.generate_seconds:.1f} s, site built in {built.mkdocs_seconds:.1f} s: "
          f"{built.site}/index.html", file=sys.stderr)
    return 0


def serve(args: argparse.Namespace) -> int:
    """Serve the built book until interrupted (the error handler turns Ctrl-C into 130)."""
    from runner.book.serve import serve as serve_site
    site = args.site or Path(args.repo) / "site"   # as `book build` takes --site

    def ready(url: str) -> None:
        if args.json:
            print(json.dumps({"ok": True, "url": url, "site": str(site.resolve())}), flush=True)
        else:
            print(f"mso: book: serving {site.resolve()} at {url} (Ctrl-C stops)", flush=True)
    serve_site(site, args.port, ready)
    return 0
