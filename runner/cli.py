"""The `mso` command: parse arguments, hand over to one verb in runner/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

from runner import __version__, error_handler
from runner.commands.common import common_options

VERBS = ("init", "validate", "plan", "build", "run", "rerun", "status", "logs", "cancel", "publish",
         "report", "book", "recipe", "dataset", "cloud")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="mso", parents=[common_options(True)],
                                  description="GitOps experiment runner for scientific computing.")
    top.add_argument("--version", action="version", version=f"mso {__version__}")
    sub = top.add_subparsers(dest="verb", metavar="VERB", required=True)
    sub_common = _SubWithCommon(sub, common_options(False))
    for verb in VERBS:
        importlib.import_module(f"runner.commands.{verb}").add(sub_common)
    return top


class _SubWithCommon:
    """Gives every verb the common options, so `mso run --json` and `mso --json run` both work."""

    def __init__(self, sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
        self.sub, self.common = sub, common

    def add_parser(self, name: str, **kw) -> argparse.ArgumentParser:
        return self.sub.add_parser(name, parents=[self.common], **kw)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return error_handler.run(lambda: args.func(args), as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
