"""The one error boundary: a user error prints its message and exits 1, a bug exits 3 with a crash log."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from typing import Callable

from runner import __version__
from runner.errors import MsoError, SpecErrors

USER_ERROR, BUG, INTERRUPTED = 1, 3, 130


def run(action: Callable[[], int], as_json: bool = False) -> int:
    """Run a command's action and turn every way it can end into an exit code."""
    try:
        return action()
    except MsoError as exc:
        _report(exc, as_json)
        return USER_ERROR
    except KeyboardInterrupt:
        print("mso: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        return USER_ERROR
    except Exception:  # noqa: BLE001 - the boundary: anything else is a bug
        path = _crash_log()
        print(f"mso: internal error (a bug in mso {__version__}); details in {path}\n"
              f"  {traceback.format_exc().strip().splitlines()[-1]}", file=sys.stderr)
        return BUG


def _report(exc: MsoError, as_json: bool) -> None:
    if as_json:
        errors = [e.as_dict() for e in exc.errors] if isinstance(exc, SpecErrors) else []
        print(json.dumps({"ok": False, "error": str(exc), "errors": errors}, indent=2))
        return
    for line in str(exc).splitlines() or ["(no message)"]:
        print(line if line.startswith(" ") else f"mso: {line}", file=sys.stderr)


def _crash_log() -> str:
    folder = os.path.join(tempfile.gettempdir(), "mso-crash")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"crash-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"mso {__version__}\nargv: {sys.argv!r}\n\n{traceback.format_exc()}")
    return path
