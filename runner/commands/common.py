"""What every verb shares: the options `-C DIR`, `--json` and `-v`."""

from __future__ import annotations

import argparse
from pathlib import Path


def common_options(top: bool) -> argparse.ArgumentParser:
    """Options every verb takes (`top`: before the verb); after the verb they must not reset what
    was given before it."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("-C", "--repo", type=Path, default=Path(".") if top else argparse.SUPPRESS,
                   metavar="DIR", help="the repository (default: the current folder)")
    p.add_argument("--json", action="store_true", default=False if top else argparse.SUPPRESS,
                   help="print machine-readable JSON")
    p.add_argument("-v", "--verbose", action="store_true",
                   default=False if top else argparse.SUPPRESS,
                   help="also say what is normally left unsaid (e.g. why GitLab is not told)")
    return p
