"""What mso tells GitLab about runs, from run records and their files alone (no network here):
the rows and Markdown of the merge-request note, commit-status states, and JUnit test cases.

Cells go through the escapes the book uses (runner/results/markdown.py), so `|`, newlines, HTML
and Markdown in log lines or reasons render literally in GitLab's Markdown too; the first error
line and log tails are found with the same helpers that build the run pages
(runner/results/task_logs.py).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import quote

from runner import junit
from runner.placement import words as placement
from runner.results import markdown as md
from runner.results import summary, task_logs
from runner.results.book_paths import experiment_page, run_page
from runner.results.records import Run, run_of
from runner.secrets import Secrets
from runner.state import RunRecord, State
from runner.words import plural

# GitLab's commit-status states: pending, running, success, failed, canceled
STATUS = {"pending": "pending", "queued": "pending", "running": "running",
          "paused": "running",      # the runner stopped watching; the jobs go on
          "succeeded": "success", "failed": "failed", "cancelled": "canceled"}
ICON = {"pending": "⏳", "queued": "⏳", "running": "🔄", "paused": "⏸️", "succeeded": "✅",
        "failed": "❌", "cancelled": "⛔"}
ERROR_SEVERITIES = ("ERROR", "CRITICAL")
TAIL_LINES = 20
ERROR_CHARS = 160
_URL = re.compile(r"https?://[^\s<>\"'`\\()\[\]]+")
_PLAIN = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")   # colours, controls
HEAD = ("Experiment", "Run", "Target", "State", "Tasks ok / failed / all", "Wall time",
        "First error")


def marker(pipeline_id: str) -> str:
    """The hidden line by which the note of a pipeline is found again."""
    return f"<!-- mso:pipeline:{re.sub(r'[^A-Za-z0-9_.-]', '', pipeline_id)} -->"


def safe_url(url: str | None) -> str | None:
    """An http(s) URL that can stand in a Markdown link as it is, else None."""
    return url if url and _URL.fullmatch(url) else None


@dataclass(frozen=True)
class Links:
    """Where the book is published (an http(s) URL), to link its pages; None: no links."""

    base: str | None = None
    directory_urls: bool = True    # mkdocs' use_directory_urls

    def url(self, docs_path: str) -> str | None:
        """The published URL of a docs page (`experiments/x.md` -> `<base>/experiments/x/`)."""
        if not safe_url(self.base):
            return None
        page = docs_path[: -len(".md")]
        if self.directory_urls:
            page = page[: -len("index")] if page.endswith("index") else page + "/"
        else:
            page += ".html"
        return self.base.rstrip("/") + "/" + quote(page)


@dataclass(frozen=True)
class Row:
    """One run as a line of the note."""

    experiment: str
    run_id: str
    target: str
    state: str
    ok: int
    failed: int
    total: int
    wall_seconds: float | None
    error: str
    images: tuple[str, ...] = ()   # every image the run used: reference@digest
    logs: str = ""                 # its tasks' classified logs in a line (logs_line)
    waiting: str = ""              # why some of its pending tasks wait (waiting_line)
    placement: tuple[str, ...] = ()   # where its steps with candidates went, a line per choice


def row(run: Run, error: str) -> Row:
    """The note's line for a run; `error` is its first_error (kept by the caller)."""
    facts, infra = summary.of(run), run.record.infrastructure
    name, kind = str(infra.get("name") or ""), str(infra.get("kind") or "")
    target = f"{name} ({kind})" if kind and kind != name else name
    images = tuple(dict.fromkeys(f"{i['reference']}@{i['digest']}" for i in run.record.images))
    return Row(run.experiment, run.run_id, target, run.record.state, facts.succeeded,
               facts.failed, facts.total, facts.wall_seconds, error, images,
               logs_line(run.record.tasks), waiting_line(run.record.tasks),
               tuple(placement.line(d) for d in run.record.placement))


def waiting_line(tasks) -> str:
    """Pending tasks that a site's limit holds back, by why: `899 tasks: waiting for room ...`."""
    why = Counter(t.reason for t in tasks if t.state == State.PENDING.value and t.reason)
    return "; ".join(f"{plural(n, 'task')}: {reason}" for reason, n in why.items())


def logs_line(tasks) -> str:
    """The tasks' log summaries (TaskRecord.logs, kept live and at collection) in one line:
    lines per severity, the mean of their last progress, the first ERROR line."""
    kept = [t for t in tasks if t.logs]
    if not kept:
        return ""
    counts: dict[str, int] = {}
    for t in kept:
        for sev, n in (t.logs.get("counts") or {}).items():
            counts[sev] = counts.get(sev, 0) + n
    parts = [", ".join(f"{n} {sev}" for sev, n in sorted(counts.items()))]
    progress = [t.logs["progress"] for t in kept if t.logs.get("progress") is not None]
    if progress:
        mean = sum(progress) / len(progress)
        parts.append(f"last progress {mean:.0f} %" + (
            f" (mean of {plural(len(progress), 'task')})" if len(progress) > 1 else ""))
    first = next(((t.id, t.logs["first_error"]) for t in kept if t.logs.get("first_error")), None)
    if first:
        tid, err = first
        parts.append(_short(f"first ERROR: {tid} {err.get('log')} line {err.get('line')}: "
                            f"{err.get('text')}"))
    return " · ".join(p for p in parts if p)


def first_error(run: Run) -> str:
    """What went wrong first: the first failed task's first ERROR line in its classified logs,
    else the last line of its stderr, else its reason; else the run's reason if it failed."""
    for task in run.record.tasks:
        if task.state != State.FAILED.value:
            continue
        line = _what_failed(run, task)
        if line:
            return _short(f"{task.id}: {line}")
    unhappy = run.record.state in (State.FAILED.value, State.CANCELLED.value)
    return _short(run.record.reason or "") if unhappy else ""


def _what_failed(run: Run, task) -> str:
    """A failed task's first ERROR log line, else its stderr's last line, else its reason."""
    return _log_error(run, task) or _last_line(run, task.stderr) or task.reason or ""


def _log_error(run: Run, task) -> str:
    if task.logs and task.logs.get("first_error"):
        return str(task.logs["first_error"].get("text") or "")
    for rel in task_logs.classified_logs(run, task):
        for entry in task_logs.entries(run, rel):
            if entry.severity in ERROR_SEVERITIES:
                return entry.text
    return ""


def _last_line(run: Run, rel: str) -> str:
    path = run.file(rel)
    lines = task_logs.tail(path, TAIL_LINES) if path else []
    shown = [_PLAIN.sub("", ln).strip() for ln in lines]
    return next((ln for ln in reversed(shown) if ln), "")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


def note(rows: Sequence[Row], mark: str, links: Links, pipeline: tuple[str, str | None],
         remarks: Sequence[str] = ()) -> str:
    """The note's Markdown: the marker, a title, one line per run, then the remarks."""
    number, url = pipeline[0], safe_url(pipeline[1])
    title = _link(f"pipeline #{number}", url) if url else md.text(f"pipeline #{number}")
    table = md.table(HEAD, [_cells(r, links) for r in rows], "No runs in this pipeline.")
    parts = [mark, f"### mso: runs of {title}", table]
    parts += _by_run("**Images** (pinned by digest)",
                     [(r, md.code(i)) for r in rows for i in r.images])
    parts += _by_run("**Application logs** (classified lines, live while tasks run)",
                     [(r, md.text(r.logs)) for r in rows if r.logs])
    parts += _by_run("**Waiting** (pending tasks the site does not take yet)",
                     [(r, md.text(r.waiting)) for r in rows if r.waiting])
    # `~14 min` would be GitLab's reference to the label with id 14; escaped, it stays text
    parts += _by_run("**Placement** (predicted times per candidate infrastructure → the choice)",
                     [(r, md.text(said).replace("~", r"\~")) for r in rows for said in r.placement])
    if remarks:
        parts.append("**Remarks**\n\n" + "\n".join(f"- {md.text(r)}" for r in remarks))
    parts.append("<sub>Updated in place by mso when a state changes; each experiment also has "
                 "a commit status `mso/<experiment>`.</sub>")
    return "\n\n".join(parts) + "\n"


def _by_run(title: str, said: Sequence[tuple[Row, str]]) -> list[str]:
    """A titled list of Markdown lines about runs, each after its run's experiment and id; none
    if there are none."""
    items = [f"- {md.text(r.experiment)} {md.text(r.run_id)}: {text}" for r, text in said]
    return [title + "\n\n" + "\n".join(items)] if items else []


def _cells(r: Row, links: Links) -> list[str]:
    exp_url = links.url(experiment_page(r.experiment))
    run_url = links.url(run_page(r.experiment, r.run_id))
    return [_link(r.experiment, exp_url) if exp_url else md.text(r.experiment),
            _link(r.run_id, run_url) if run_url else md.text(r.run_id),
            md.text(r.target), f"{ICON.get(r.state, '')} {md.text(r.state)}".strip(),
            f"{r.ok} / {r.failed} / {r.total}", md.duration(r.wall_seconds),
            md.text(r.error) if r.error else md.NONE]


def _link(label: str, url: str) -> str:
    return f"[{md.text(label)}]({url})"


def status(record: RunRecord) -> str:
    """The GitLab commit-status state of a run."""
    return STATUS.get(record.state, "pending")


def description(run: Run) -> str:
    """The commit status' short text: counts and the run."""
    f = summary.of(run)
    failed = f", {f.failed} failed" if f.failed else ""
    return f"{run.record.state}: {f.succeeded}/{f.total} tasks succeeded{failed} (run {run.run_id})"


def junit_cases(run: Run) -> list[junit.Case]:
    """A test case per task: failed tasks fail, cancelled or unfinished ones are skipped; the
    message is the first error line, the text the tails of the task's logs and stderr."""
    cases, cls = [], f"{run.experiment}.{run.run_id}"
    for t in run.record.tasks:
        seconds = md.seconds_between(t.started, t.ended) or 0.0
        if t.state == State.SUCCEEDED.value:
            cases.append(junit.Case(cls, t.id, seconds=seconds))
        elif t.state == State.FAILED.value:
            why = _what_failed(run, t) or "failed"
            cases.append(junit.Case(cls, t.id, failure=_short(why), details=_tails(run, t),
                                    seconds=seconds))
        else:
            tails = _tails(run, t) if t.state == State.CANCELLED.value else ""
            cases.append(junit.Case(cls, t.id, skipped=_short(_not_run(t)), details=tails,
                                    seconds=seconds))
    return cases


def _not_run(task) -> str:
    if task.state == State.CANCELLED.value:
        return f"cancelled: {task.reason}" if task.reason else "cancelled"
    return f"not finished ({task.state})"


def _tails(run: Run, task) -> str:
    """The last lines of each application log, then of stderr, as labelled blocks."""
    blocks = []
    for rel in [*task_logs.classified_logs(run, task), task.stderr]:
        path = run.file(rel)
        lines = task_logs.tail(path, TAIL_LINES) if path else []
        if lines:
            blocks.append(f"--- {rel} (last {plural(len(lines), 'line')})\n" + "\n".join(lines))
    if task.reason:
        blocks.insert(0, f"reason: {task.reason}")
    return "\n".join(blocks)


def write_junit(path: Path, results: Path, records: Iterable[RunRecord], secrets: Secrets) -> None:
    """A JUnit file with a test case per task of these runs, every secret mso knows of masked."""
    cases = [c for r in records for c in junit_cases(run_of(results, r))]
    cases = [replace(c, **{k: secrets.mask(getattr(c, k))
                           for k in ("name", "failure", "details", "skipped")}) for c in cases]
    junit.write(path, "mso runs", cases)
