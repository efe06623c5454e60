"""The console of `mso run`: each task's classified log lines as they arrive, coloured by
severity, and each running task's progress with the run's ETA.

Where it goes:
- a terminal: lines above rich's bars, a bar per running task that reports progress, the ETA
  beside the run's bar;
- a pipe or a CI log: plain lines (ANSI colours when `CI` or `GITLAB_CI` is set, GitLab's job log
  renders them; never with `NO_COLOR`), and every `every` seconds one summary line per run;
- under GitLab CI (`GITLAB_CI` set), each task's lines in a collapsible section of its own.

GitLab's sections are ranges of the one job log: a line belongs to the section last opened.
Tasks that run side by side write at the same time, so a section opened when a task starts
would swallow its neighbours' lines. A task's lines are therefore kept (the last BUFFERED of
them) and printed as its section when it ends, stamped with the time it was first seen running
so that GitLab shows the task's duration; collapsed unless it failed. What a person needs while
it runs does not wait: WARNING, ERROR and CRITICAL lines print at once (and again in the
section, in their place), and the summary lines say the run is alive and how far it got. Lines
of tasks still running when watching stops are printed in sections then.

Memory: at most BUFFERED lines of at most tasklines.FULL_WIDTH characters per task seen.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from rich.text import Text

from runner.commands import tasklines
from runner.commands.eta import RunProgress, eta_text
from runner.state import State
from runner.words import plural

if TYPE_CHECKING:
    from runner.commands.ui import Reporter
    from runner.runs.active import ActiveRun
    from runner.state import TaskRecord

SUMMARY_EVERY = 30.0   # seconds between summary lines in a pipe or a CI log
BUFFERED = 200         # lines kept per task for its GitLab section
BARS = 8               # task bars on a terminal at once
ALWAYS = ("WARNING", "ERROR", "CRITICAL")   # shown whatever the verbosity
STYLES = {"OK": "green", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "red", "DEBUG": "dim"}
_ANSI = {"green": "32", "yellow": "33", "red": "31", "dim": "2"}
_LEVELS = ((50, "CRITICAL"), (40, "ERROR"), (30, "WARNING"), (20, "INFO"), (0, "DEBUG"))
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_UNSAFE = re.compile(r"[^a-z0-9_]+")


def severity_word(severity: str | int) -> str:
    """`WARNING` for `warning`; an integer severity (MSO4SC's, as Python logging's levels)
    named by the level it reaches."""
    text = str(severity).strip()
    if text.lstrip("-").isdigit():
        return next(word for level, word in _LEVELS if int(text) >= level) if int(text) >= 0 \
            else "DEBUG"
    return text.upper()


def shown(severity: str | int, verbosity: int, limit: int) -> bool:
    """Whether a classified line shows at `--verbosity limit` (MSO4SC: a line's verbosity is the
    least at which it shows); warnings and errors always do."""
    return severity_word(severity) in ALWAYS or verbosity <= limit


def clean(text: str) -> str:
    """A log's text made safe for one line of a terminal or a job log: control characters
    (escape, carriage return: they could forge colours or a section marker) shown as `\\xNN`,
    and cut short."""
    return tasklines.short(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text),
                           tasklines.FULL_WIDTH)


def body(log: str, line: int, severity: str | int, text: str) -> str:
    """`heat.log:12 WARNING Report step 3`."""
    return f"{clean(log)}:{line} {severity_word(severity)} {clean(text)}"


def ansi(text: str, severity: str | int) -> str:
    """The text in its severity's colour, as an ANSI escape (INFO and unknown words plain)."""
    style = STYLES.get(severity_word(severity))
    return f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if style else text


def section_name(run_id: str, task_id: str) -> str:
    """A GitLab section name for a task: [a-z0-9_] only, unique by a hash of the real names."""
    raw = f"{run_id}/{task_id}"
    digest = hashlib.sha1(raw.encode()).hexdigest()[:8]
    return f"mso_{_UNSAFE.sub('_', raw.lower())[:60].strip('_')}_{digest}"


def section_start(name: str, when: int, header: str, collapsed: bool) -> str:
    """GitLab's section start marker, then the header (docs: "custom collapsible sections")."""
    option = "[collapsed=true]" if collapsed else ""
    return f"\x1b[0Ksection_start:{when}:{name}{option}\r\x1b[0K{header}"


def section_end(name: str, when: int) -> str:
    return f"\x1b[0Ksection_end:{when}:{name}\r\x1b[0K"


@dataclass
class _Kept:
    """A task's lines kept for its section."""

    run: "ActiveRun"
    task: "TaskRecord"
    began: int                                   # unix time it was first seen running
    lines: deque = field(default_factory=lambda: deque(maxlen=BUFFERED))
    count: int = 0
    severities: dict[str, int] = field(default_factory=dict)

    def add(self, severity: str, line: str) -> None:
        self.lines.append(line)
        self.count += 1
        self.severities[severity] = self.severities.get(severity, 0) + 1


class Console:
    """Listens to the runs being watched (`changed` after each task event line, `hear` for log
    lines, `tick` after each watcher tick, `close` at the end) and shows what it heard."""

    def __init__(self, ui: "Reporter", verbosity: int = 0, every: float = SUMMARY_EVERY,
                 env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        env = os.environ if env is None else env
        self.ui, self.verbosity, self.every = ui, verbosity, every
        self.clock, self.wall = clock, wall
        self.rich = ui.progress is not None
        self.colour = (not self.rich and bool(env.get("CI") or env.get("GITLAB_CI"))
                       and not env.get("NO_COLOR"))
        self.sections = not self.rich and bool(env.get("GITLAB_CI"))
        self.runs: dict[str, RunProgress] = {}
        self.axes: dict[str, list[str]] = {}
        self.kept: dict[tuple[str, str], _Kept] = {}
        self.seen: dict[tuple[str, str], int] = {}   # unix time a running task was first seen
        self.bars: set[str] = set()                  # the task bars shown
        self.next_summary = clock() + every

    def attach(self, runs: Iterable["ActiveRun"]) -> None:
        """Start following these runs; their tasks already running count from now."""
        now = self.clock()
        for r in runs:
            self._progress(r)
            for t in r.record.tasks:
                if t.state == State.RUNNING:
                    self._running(r, t, now)

    def label(self, run: "ActiveRun", task: "TaskRecord") -> str:
        """The task's parameters that tell it apart from the run's other tasks."""
        rid = run.record.run_id
        if rid not in self.axes:
            self.axes[rid] = tasklines.distinguishing([x.parameters for x in run.record.tasks])
        return tasklines.params_text(task.parameters, self.axes[rid])

    def changed(self, run: "ActiveRun", task: "TaskRecord") -> None:
        """A task's state changed (its event line is printed): follow it; print its section
        when it ended."""
        now = self.clock()
        if task.state == State.RUNNING:
            self._running(run, task, now)
        elif task.state.terminal:
            self._progress(run).ended(task.id, now)
            key = f"{run.record.run_id}/{task.id}"
            if key in self.bars:
                self.bars.discard(key)
                self.ui.drop(key)
            self._section(run, task, task.state.value)
            self.seen.pop((run.record.run_id, task.id), None)
        self._notes(now)

    def hear(self, run: "ActiveRun", task: "TaskRecord", log: str, entries: list) -> None:
        """New classified lines of one of a task's logs (secrets already masked)."""
        if self.ui.quiet or not entries:
            return
        progress, now = self._progress(run), self.clock()
        self._running(run, task, now)
        percent = next((e.progress for e in reversed(entries) if e.progress is not None), None)
        if percent is not None:
            progress.progressed(task.id, percent, now)
            self._task_bar(run, task, progress.percent.get(task.id, 0.0))
        prefix = tasklines.task_line(run.record.experiment, task.id, self.label(run, task), "")
        for e in entries:
            if shown(e.severity, e.verbosity, self.verbosity):
                self._line(run, task, prefix, body(log, e.line, e.severity, e.text), e.severity)
        self._notes(now)

    def tick(self) -> None:
        """After each watcher tick: the ETAs move on; in a pipe, a summary line when due."""
        now = self.clock()
        self._notes(now)
        if self.rich or self.ui.quiet or now < self.next_summary:
            return
        self.next_summary = now + self.every
        for progress in self.runs.values():
            if len(progress.done) < progress.total:
                self.ui.line(progress.summary(now))

    def close(self) -> None:
        """Watching stops: the lines kept for tasks still running are printed now."""
        for (rid, tid) in list(self.kept):
            self._flush(rid, tid, "still running when watching stopped", collapsed=True)

    def _running(self, run: "ActiveRun", task: "TaskRecord", now: float) -> None:
        if task.state.terminal:   # lines read after the end was told
            return
        self._progress(run).running(task.id, now)
        self.seen.setdefault((run.record.run_id, task.id), int(self.wall()))

    def _progress(self, run: "ActiveRun") -> RunProgress:
        rid = run.record.run_id
        if rid not in self.runs:
            self.runs[rid] = RunProgress(run.record.experiment, len(run.record.tasks))
            self.runs[rid].done.update(t.id for t in run.record.tasks if t.state.terminal)
        return self.runs[rid]

    def _line(self, run: "ActiveRun", task: "TaskRecord", prefix: str, text: str,
              severity: str | int) -> None:
        word = severity_word(severity)
        if self.rich:
            self.ui.line(Text.assemble(prefix, (text, STYLES.get(word, ""))))
            return
        line = prefix + (ansi(text, word) if self.colour else text)
        if self.sections and not task.state.terminal:   # its section is not printed yet
            key = (run.record.run_id, task.id)
            began = self.seen.get(key) or int(self.wall())
            self.kept.setdefault(key, _Kept(run, task, began)).add(word, line)
        if not self.sections or word in ALWAYS or task.state.terminal:
            self.ui.line(line)

    def _section(self, run: "ActiveRun", task: "TaskRecord", how: str) -> None:
        if (run.record.run_id, task.id) in self.kept:
            self._flush(run.record.run_id, task.id, how, collapsed=task.state != State.FAILED)

    def _flush(self, rid: str, tid: str, how: str, collapsed: bool) -> None:
        """Print a task's kept lines as its GitLab section, and forget them."""
        kept = self.kept.pop((rid, tid))
        counts = ", ".join(f"{n} {word}" for word, n in sorted(kept.severities.items()))
        header = tasklines.task_line(kept.run.record.experiment, tid, self.label(kept.run, kept.task),
                                     f"{how}, {plural(kept.count, 'log line')} ({counts})")
        name = section_name(rid, tid)
        self.ui.line(section_start(name, kept.began, header, collapsed))
        if kept.count > len(kept.lines):
            folder = tasklines.where(kept.run.results / tid, Path.cwd())
            self.ui.line(f"{tasklines.INDENT}... {plural(kept.count - len(kept.lines), 'earlier line')}"
                         f" not kept here: {folder} has them all")
        for line in kept.lines:
            self.ui.line(line)
        self.ui.line(section_end(name, max(int(self.wall()), kept.began)))

    def _task_bar(self, run: "ActiveRun", task: "TaskRecord", percent: float) -> None:
        """A task's bar on a terminal (the first BARS tasks that report progress at a time)."""
        key = f"{run.record.run_id}/{task.id}"
        if key in self.bars:
            self.ui.advance(key, percent)
        elif self.rich and len(self.bars) < BARS:
            self.bars.add(key)
            self.ui.bar(key, f"  {task.id} {self.label(run, task)}".rstrip(), 100, percent)

    def _notes(self, now: float) -> None:
        """On a terminal, each run's bar says how many tasks run and its ETA."""
        if not self.rich:
            return
        for rid, progress in self.runs.items():
            running = f"{len(progress.began)} running, " if progress.began else ""
            left = len(progress.done) < progress.total
            self.ui.note(rid, running + eta_text(progress.eta(now)) if left else "")
