"""Named points where a test can make the runner die as SIGKILL would (MSO_FAILPOINT=name).

Resuming after a crash is the promise that matters most, so the tests crash the runner at each
point of a run: before submitting, between submitting and recording it, while collecting.
"""

from __future__ import annotations

import os
import signal

POINTS = ("before-submit", "after-submit", "while-collecting")


def hit(name: str) -> None:
    """Die here, at once and without cleanup, when this failpoint is armed."""
    if os.environ.get("MSO_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
