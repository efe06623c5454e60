"""Live logs: on each watcher tick, ONE command per scheduler (through its transport, no other
connection) reads the new bytes of every declared log of every running task there; new lines
are classified, appended to results/<exp>/<run>/<task>/<log>.jsonl, handed to `ActiveRun.hear`,
and summed up in the task's record (TaskRecord.logs).

Bounds: the command brings back at most runner/staging/live.TOTAL bytes (PER_FILE of one file),
and each log holds at most runner/staging/history.MAX_LINE bytes of an unfinished line, so mso's
memory stays under ~TOTAL * 3 + (logs of running tasks) * MAX_LINE whatever the logs do.
`MSO_LIVE_LOGS=0` turns live tailing off: logs are then classified when their task ends.
"""

from __future__ import annotations

import os
import time

from runner.errors import MsoError
from runner.monitor.submit import Members
from runner.runs.active import ActiveRun
from runner.schedulers.base import Scheduler
from runner.staging import history, live
from runner.state import State, TaskRecord

SUMMARY_EVERY = 10.0   # seconds: a run's record is marked for saving at most this often for logs
OFF = ("0", "off", "no", "false")

Key = tuple[str, str, str]   # (run id, task id, log path in the work dir)


def enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether live tailing is on (it is unless MSO_LIVE_LOGS says 0, off, no or false)."""
    return (environ or os.environ).get("MSO_LIVE_LOGS", "1").strip().lower() not in OFF


class LogWatch:
    """The streams of the logs being followed, by run, task and log."""

    def __init__(self, on: bool | None = None) -> None:
        self.on = enabled() if on is None else on
        self.streams: dict[Key, history.LogStream] = {}
        self.commands = 0          # commands these reads took (one per scheduler per tick)
        self.reads = 0             # reads made (ticks with a running task's log to read)
        self._turn = 0
        self._saved: dict[str, float] = {}

    def tick(self, sched: Scheduler, members: Members) -> None:
        """Read on every log of the running tasks at this scheduler, in one command."""
        if not self.on:
            return
        wanted = self._wanted(members)
        for key in [k for k in self.streams if k[:2] not in wanted]:
            del self.streams[key]    # its task ended (collection completes its log) or paused
        paths = [(path, r, t, key) for (r, t, keys) in wanted.values() for key, path in keys]
        if not paths:
            return
        self._turn = (self._turn + 1) % len(paths)   # who is read first: the byte cap is shared
        paths = paths[self._turn:] + paths[:self._turn]
        chunks = self._read(sched, paths)
        if chunks is not None:
            for path, r, t, key in paths:
                if path in chunks:
                    self._apply(r, t, key, chunks[path])

    def _wanted(self, members: Members) -> dict:
        """By (run id, task id): the run, the task, and its logs' keys and paths on the host."""
        out = {}
        for r, tasks in members:
            for t in tasks:
                if t.state != State.RUNNING:
                    continue
                plan, work = r.tasks[t.id], r.place(t.id).area.task_dir(t.id)
                keys = [((r.record.run_id, t.id, lg.path), str(work / lg.path))
                        for lg in plan.logs if not history.is_glob(lg.path)]
                if keys:
                    out[(r.record.run_id, t.id)] = (r, t, keys)
        return out

    def _read(self, sched: Scheduler, paths: list) -> dict[str, live.Chunk] | None:
        wants = [live.Want(path, s.inode, s.pos) for path, r, t, key in paths
                 for s in [self._stream(r, t, key)]]
        before = sched.transport.commands
        try:
            result = sched.transport.run(live.command(), stdin=live.request(wants))
            chunks = live.parse(result.check("reading the running tasks' logs").stdout)
        except MsoError as exc:   # a failed read is a warning: the next tick reads on
            r, t = paths[0][1], paths[0][2]
            r.warn(t, f"reading live logs failed: {exc}")
            return None
        finally:
            self.commands += sched.transport.commands - before
        self.reads += 1
        return chunks

    def _stream(self, r: ActiveRun, t: TaskRecord, key: Key) -> history.LogStream:
        if key not in self.streams:
            spec = next(lg for lg in r.tasks[t.id].logs if lg.path == key[2])
            stage = r.place(t.id).area.stage
            self.streams[key] = history.LogStream(
                spec, key[2], r.tasks[t.id].expected_steps, r.results / t.id,
                history.cursor_path(stage, t.id, key[2]), r.secrets)
        return self.streams[key]

    def _apply(self, r: ActiveRun, t: TaskRecord, key: Key, chunk: live.Chunk) -> None:
        stream = self.streams[key]
        before = (stream.inode, stream.pos)
        entries = stream.feed(chunk.inode, chunk.start, chunk.data)
        for text in stream.classifier.take_warnings():   # a pattern ran out of time: said once
            r.warn(t, text)
        if not entries and before == (stream.inode, stream.pos):
            return
        stream.record(entries)
        if not entries:
            return
        r.hear(r, t, key[2], entries)
        t.logs = history.merged([s.summary for k, s in self.streams.items() if k[:2] == key[:2]])
        now = time.monotonic()
        if now - self._saved.get(r.record.run_id, float("-inf")) >= SUMMARY_EVERY:
            self._saved[r.record.run_id] = now
            r.dirty = True
