"""Progress lines of long transfers, one shape for every route:

    `  moving NAME: 42% of 1.0 GiB, 96.3 MiB/s, 6 s left`

The runner's own transfers make them from rclone-python's updates (rclone.Reporter); a host's
rclone (the `direct` route) is asked for one stats line on stderr every `every()` seconds
(`flags()`), which `Watcher` reads as the transport hands it on and turns into the same line.
MSO_PROGRESS_EVERY (seconds) sets the interval; 10 s otherwise.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable

from runner.words import size_text

EVERY = 10.0
UNITS = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50}
SIZE = r"(\d+(?:\.\d+)?) ?([KMGTP]i)?B"
# rclone's --stats-one-line: `1.027 MiB / 2.861 MiB, 36%, 1.027 MiB/s, ETA 2s (xfr#1/2)`
STATS = re.compile(rf"{SIZE} / {SIZE}, (?:-|\d+%), {SIZE}/s, ETA ")


def every() -> float:
    """Seconds between progress lines: MSO_PROGRESS_EVERY, else 10."""
    try:
        return max(0.1, float(os.environ.get("MSO_PROGRESS_EVERY", EVERY)))
    except ValueError:
        return EVERY


def flags() -> list[str]:
    """rclone flags for one stats line on stderr every `every()` seconds, at a level shown
    without -v."""
    return ["--stats", f"{every():g}s", "--stats-one-line", "--stats-log-level", "NOTICE"]


def line(label: str, sent: int, total: int, speed: float) -> str:
    """The progress line: the share done (or the bytes, when the total is unknown), the rate,
    the time left."""
    left = f", {int((total - sent) / speed)} s left" if speed and total > sent else ""
    share = f"{100 * sent / total:.0f}% of {size_text(total)}" if total else size_text(sent)
    return f"  moving {label}: {share}, {size_text(int(speed))}/s{left}"


def parse(text: str) -> tuple[int, int, float] | None:
    """(bytes sent, bytes in all, bytes per second) of one rclone stats line; None for any
    other line."""
    m = STATS.search(text)
    if m is None:
        return None
    sent, total, speed = (float(m.group(i)) * UNITS[m.group(i + 1) or ""] for i in (1, 3, 5))
    return int(sent), int(total), speed


def is_stats(text: str) -> bool:
    return STATS.search(text) is not None


def without_stats(text: str) -> str:
    """rclone's stderr without its stats lines (whose numbers read like HTTP codes)."""
    return "\n".join(ln for ln in text.splitlines() if not is_stats(ln))


class Watcher:
    """An on_stderr callback: each stats line of a transfer still under way said as a progress
    line (the last one, all done, and one before anything is known are not)."""

    def __init__(self, label: str, say: Callable[[str], None] | None = None,
                 mask: Callable[[str], str] = str) -> None:
        self.label, self.mask = label, mask
        self.say = say or (lambda s: print(s, file=sys.stderr, flush=True))

    def __call__(self, text: str) -> None:
        got = parse(text)
        if got is None:
            return
        sent, total, speed = got
        if (total and sent >= total) or not (sent or total):
            return
        self.say(self.mask(line(self.label, sent, total, speed)))
