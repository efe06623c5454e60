"""What a person sees while mso works: event lines, and progress bars on a terminal."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text


class Reporter(AbstractContextManager):
    """Prints one line per event (to stderr); on a terminal also a bar per run."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.progress: Progress | None = None
        self.bars: dict[str, int] = {}

    def __enter__(self) -> "Reporter":
        if not self.quiet and self.console.is_terminal:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     TextColumn("{task.fields[note]}"),
                                     console=self.console, transient=False)
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress:
            self.progress.stop()

    def line(self, text: str | Text) -> None:
        """A line (a rich Text keeps its colours on a terminal; elsewhere it is plain)."""
        if self.quiet:
            return
        if self.progress:   # above the bars
            self.console.print(text, markup=False)
        else:               # a log or a pipe: plain lines (rich costs ~0.5 ms a line)
            print(text, file=sys.stderr, flush=True)

    def bar(self, key: str, label: str, total: float, done: float = 0, note: str = "") -> None:
        if self.progress and key not in self.bars:
            self.bars[key] = self.progress.add_task(label, total=total, completed=done, note=note)

    def advance(self, key: str, done: float, note: str | None = None) -> None:
        if self.progress and key in self.bars:
            extra = {} if note is None else {"note": note}
            self.progress.update(self.bars[key], completed=done, **extra)

    def note(self, key: str, text: str) -> None:
        """The words after a bar (a run's ETA)."""
        if self.progress and key in self.bars:
            self.progress.update(self.bars[key], note=text)

    def drop(self, key: str) -> None:
        """Remove a bar (a task's, once it ended)."""
        if self.progress and key in self.bars:
            self.progress.remove_task(self.bars.pop(key))

