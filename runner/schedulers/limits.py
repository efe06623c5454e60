"""A site's cap on queued jobs (Slurm's MaxSubmitJobs and its Grp/QOS kin, PBS's max_queued,
Torque's max_user_queuable), where array tasks count one by one.

mso never lets such a refusal cancel what is already queued: the tasks it refused stay pending
and go on later watcher ticks, as mso's own jobs leave the queue. The cap is declared
(`limits.max_submitted`), or learned from the first refusal: then it is the number of mso's
jobs queued when the site said no. A later refusal (the site counted jobs mso no longer does:
completing ones, or the same user's jobs from outside mso) does not shrink it, which would split
arrays into small pieces: the refused tasks wait RETRY_S seconds and go again.

Arrays go whole when they fit: a chunk (the tasks of one array, runner/schedulers/arrays.py)
waits until the room takes all of it, so a campaign makes one submission per chunk plus the
refusals; a chunk larger than the cap itself goes in pieces of half the cap, so that the queue
never drains empty between two pieces.
"""

from __future__ import annotations

import time

RETRY_S = 10.0   # refused with the cap known, or with none of mso's jobs queued: try again later


class SubmitLimit:
    """The cap on mso's queued jobs at one scheduler, and why tasks wait for it."""

    def __init__(self, declared: int | None) -> None:
        self.cap = declared
        self.why = f"limits.max_submitted is {declared}" if declared else ""
        self.queued = 0            # mso's jobs queued here, as of the last admit()
        self._retry_at = 0.0

    def admit(self, chunks: list[tuple[int, ...]], queued: int) -> list[int]:
        """Of the ready tasks' indices, grouped by array chunk in submission order, those to
        submit now: whole chunks (or pieces of an oversized one) while they fit, in order."""
        self.queued = queued
        if time.monotonic() < self._retry_at:
            return []
        if self.cap is None:
            return [i for chunk in chunks for i in chunk]
        room, take = self.cap - queued, []
        for chunk in chunks:
            unit = len(chunk) if len(chunk) <= self.cap else max(1, self.cap // 2)
            for start in range(0, len(chunk), unit):
                piece = chunk[start:start + unit]
                if len(piece) > room:
                    return take
                take += piece
                room -= len(piece)
        return take

    def refused(self, why: str, taken: int) -> None:
        """The site refused a submission after taking `taken` jobs of it: learn the cap from
        the first refusal; after a later one (the site counted jobs mso no longer does, such as
        completing ones, or jobs from outside mso), wait a little and try again."""
        queued = self.queued + taken
        self.why = why
        if self.cap is None and queued:
            self.cap = queued
        else:
            self._retry_at = time.monotonic() + RETRY_S

    def reason(self) -> str:
        """What a waiting task's record says."""
        return f"waiting for room under the site's limit on queued jobs ({self.why})"
