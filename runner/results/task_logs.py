"""A task's logs in its run folder: its classified application logs, their entries, file tails."""

from __future__ import annotations

from pathlib import Path

from runner.logs.classify import CLASSIFIED, Entry, from_jsonl
from runner.results.records import Run
from runner.state import TaskRecord



def classified_logs(run: Run, task: TaskRecord) -> list[str]:
    """Run-relative paths of the task's application logs that have a classified `.jsonl` twin."""
    outputs = {f"{task.id}/{o['path']}" for o in task.outputs}
    logs = [rel[: -len(CLASSIFIED)] for rel in run.listed(f"{task.id}/", CLASSIFIED)]
    return [log for log in logs if run.file(log) and log not in outputs]


def entries(run: Run, log: str) -> list[Entry]:
    """The classified entries of a log that classified_logs found."""
    return from_jsonl(run.file(log + CLASSIFIED).read_text("utf-8", errors="replace"))


def tail(path: Path, n: int) -> list[str]:
    """The last n lines of a file, reading at most its last 64 KiB."""
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 65536))
        data = fh.read().decode("utf-8", errors="replace")
    return data.splitlines()[-n:]
