"""One task's section of a run page: outputs, classified logs, and the tails of stdout/stderr."""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from markdown.extensions.toc import slugify

from runner.logs.classify import Entry
from runner.results import markdown as md
from runner.results.book_paths import run_page
from runner.results.records import Run
from runner.results.task_logs import classified_logs, entries, tail
from runner.state import TaskRecord

TAIL_LINES = 20          # of stdout and stderr
LOG_LINES = 20           # classified lines shown per log (the whole log is linked)
NOTABLE_LINES = 10       # OK/WARNING/ERROR/CRITICAL lines shown as admonitions per log
COPY_LIMIT = 2 * 1024 * 1024   # files larger than this stay out of the book
ADMONITION = {"OK": "success", "WARNING": "warning", "ERROR": "failure", "CRITICAL": "danger"}
# Copied files keep their name only with a suffix a web server cannot turn into a page or a
# script; anything else gets `.txt` appended, so an output `x.html` or `x.md` stays inert.
SAFE_SUFFIXES = {".txt", ".log", ".out", ".err", ".json", ".jsonl", ".csv", ".tsv", ".dat",
                 ".npy", ".npz", ".h5", ".hdf5", ".nc", ".png", ".jpg", ".jpeg", ".gif", ".webp",
                 ".pdf", ".vtk", ".vtu", ".gz", ".zip", ".tar", ".bin"}
IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"}   # shown inline on the run page
MAX_IMAGES = 12          # per task; the others are in its outputs table
# An SVG is a document: one with scripts, event handlers or links out is served as text
_SVG_ACTIVE = {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener",
               "set", "animate", "animatemotion", "animatetransform"}
_SVG_DTD = re.compile(rb"<!ENTITY|<!DOCTYPE[^>\[]*\[", re.I)   # entities: none (a plain DOCTYPE is)


@dataclass
class Files:
    """The run files a page links to: (docs path, source) pairs, collected while writing."""

    folder: str                       # the run's docs folder, where its page is index.md
    copies: list[tuple[str, Path]] = field(default_factory=list)

    def link(self, run: Run, rel: str) -> str | None:
        """Register a run file for copying; the link target from the run page, or None."""
        src = run.file(rel)
        rel = posixpath.normpath(rel)
        if src is None or src.stat().st_size > COPY_LIMIT or any(
                part.startswith(".") for part in rel.split("/")):
            return None
        suffix = posixpath.splitext(rel)[1].lower()
        kept = suffix in SAFE_SUFFIXES or (suffix == ".svg" and inert_svg(src.read_bytes()))
        target = rel if kept else rel + ".txt"
        self.copies.append((f"{self.folder}/{target}", src))
        return target


def section(run: Run, task: TaskRecord, files: Files, known: Collection[str] = (),
            private: bool = False) -> str:
    """The Markdown of one task's section on its run page (`known`: the experiment's run ids
    that have a page, for a reused task's link to where it ran; `private`: the run read a
    private dataset, so where its outputs went is not shown)."""
    parts = [f"## {md.text(task.id)}", _facts(task), _logs_summary(task), _reused(run, task, known),
             f"**Parameters**: {md.values(task.parameters)}", "**Outputs**",
             _outputs(run, task, files, private), _images(run, task, files)]
    unhappy = task.state != "succeeded"   # what went wrong is shown unfolded
    for rel in classified_logs(run, task):
        parts.append(_log(run, rel, files, unhappy))
    for label, rel in (("stdout", task.stdout), ("stderr", task.stderr)):
        parts.append(_tail(run, label, rel, files, unhappy and label == "stderr", bool(task.started)))
    return "\n\n".join(p for p in parts if p)


def _facts(task: TaskRecord) -> str:
    """One line of what happened: state, exit code, times, job, what it waited for."""
    parts = [md.state(task.state)]
    if task.exit_code is not None:
        parts.append(f"exit code {md.text(task.exit_code)}")
    if task.started:
        ended = f" to {md.when(task.ended)}" if task.ended else ""
        parts.append(f"{md.when(task.started)}{ended} UTC")
    if task.job_id:
        parts.append(f"job {md.code(task.job_id)}")
    if task.needs:
        parts.append("after " + ", ".join(md.code(n) for n in task.needs))
    reason = f"\n\n**Reason**: {md.text(task.reason)}" if task.reason else ""
    return " · ".join(parts) + reason


def _logs_summary(task: TaskRecord) -> str:
    """Its classified logs in a line (run.json's summary, kept while it ran): lines per
    severity, progress, the first ERROR line (each log's own figures follow, with its lines)."""
    s = task.logs
    if not s:
        return ""
    text = "**Logs**: " + ", ".join(f"{n} {md.text(sev)}" for sev, n in sorted(s["counts"].items()))
    if s.get("progress") is not None:
        text += f" · progress **{s['progress']:g} %**"
    err = s.get("first_error")
    if err:
        text += (f" · first ERROR: {md.code(err.get('log', ''))} line {md.text(err.get('line'))}: "
                 f"{md.text(err.get('text', ''))}")
    return text


def _reused(run: Run, task: TaskRecord, known: Collection[str]) -> str:
    """Where a task that was not run, but taken over from an earlier run, ran."""
    if not task.reused:
        return ""
    src, tid = task.reused["run"], task.reused["task"]
    here = run_page(run.experiment, run.run_id)
    where = (md.link(f"{src}, task {tid}", md.rel(here, run_page(run.experiment, src)) + "#" +
                     slugify(tid, "-")) if src in known else f"{md.code(src)}, task {md.code(tid)}")
    return (f"**Reused**: not run again: the same point, with the same application, inputs and "
            f"settings, succeeded in run {where}; its results are copied here.")


def _outputs(run: Run, task: TaskRecord, files: Files, private: bool) -> str:
    rows = []
    for out in sorted(task.outputs, key=lambda o: o["path"]):
        rel = f"{task.id}/{out['path']}"
        target = files.link(run, rel) if out["stored"] == "results" else None
        name = md.link(out["path"], target) if target else md.code(out["path"])
        where = "in the book" if target else _stored(out, private)
        rows.append([name, md.size(out["size"]), md.code(out["sha256"]), where])
    return md.table(("Output", "Size", "SHA-256", "Stored"), rows, "No outputs collected.")


def _images(run: Run, task: TaskRecord, files: Files) -> str:
    """The images among its outputs in the book, inline (the file name as alt text); those too
    large for the book are named."""
    found = [o for o in sorted(task.outputs, key=lambda o: o["path"]) if o["stored"] == "results"
             and posixpath.splitext(o["path"])[1].lower() in IMAGES]
    shown, large = [], []
    for out in found[:MAX_IMAGES]:
        target = files.link(run, f"{task.id}/{out['path']}")
        if target and not target.endswith(".txt"):
            shown.append("!" + md.link(out["path"], target))
        elif target is None and out["size"] > COPY_LIMIT:
            large.append(f"{md.code(out['path'])} ({md.size(out['size'])})")
    parts = ["**Images**", "\n\n".join(shown)] if shown else []
    if large:
        parts.append(f"Not shown, larger than {md.size(COPY_LIMIT)}: {', '.join(large)}; "
                     f"in {md.code(f'results/{run.experiment}/{run.run_id}/{task.id}/')}.")
    if len(found) > MAX_IMAGES:
        parts.append(f"The first {MAX_IMAGES} of {len(found)} images; all are in the outputs.")
    return "\n\n".join(parts)


def inert_svg(data: bytes) -> bool:
    """Whether an SVG is a picture only: XML without entities, scripts, event handlers,
    animation, or links other than to itself or to embedded images."""
    if _SVG_DTD.search(data):
        return False
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return False
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag.rsplit("}", 1)[-1].lower() in _SVG_ACTIVE:
            return False
        for name, val in el.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on") or (local == "href" and not val.startswith(
                    ("#", "data:image/png", "data:image/jpeg", "data:image/gif"))):
                return False
    return True


def _stored(out: dict, private: bool) -> str:
    """Where an output not in the book is; a remote's path only for a run that read no private
    dataset (what comes from private data is private)."""
    if out["stored"] == "workdir":
        return "left in the work dir"
    if out["stored"] != "remote":
        return "in results/ (not copied)"
    if private or not out.get("location"):
        return "on the outputs remote (sha256 checked)"
    return f"{md.code(out['location'])} (sha256 checked)"


def _log(run: Run, rel: str, files: Files, unfold: bool) -> str:
    items = entries(run, rel)
    name = rel.split("/", 1)[1]
    parts = [_log_head(name, items, files.link(run, rel))]
    notable = [e for e in items if e.severity in ADMONITION][-NOTABLE_LINES:]
    parts += [md.admonition(ADMONITION[e.severity], f"{e.severity} · {name} line {e.line}",
                            e.text) for e in notable]
    if items:
        shown = items[-LOG_LINES:]
        label = f"{name}: classified lines"
        if len(shown) < len(items):
            label += f" (last {len(shown)} of {len(items)})"
        parts.append(md.details(label, _coloured(shown), is_open=unfold))
    return "\n\n".join(parts)


def _log_head(name: str, items: list[Entry], target: str | None) -> str:
    """`Log heat.log: 29 classified lines (28 INFO, 1 OK); last progress 100 %.`"""
    counts = Counter(e.severity for e in items)
    progress = [e.progress for e in items if e.progress is not None]
    shown = md.link(name, target) if target else md.code(name)
    text = f"**Log {shown}**: {len(items)} classified line{'s' * (len(items) != 1)}"
    if counts:
        text += " (" + ", ".join(f"{n} {md.text(s)}" for s, n in sorted(counts.items())) + ")"
    return text + (f"; last progress **{progress[-1]:g} %**." if progress else ".")


def _coloured(items: list[Entry]) -> str:
    lines = []
    for e in items:
        css = "".join(c for c in e.severity.lower() if c.isalpha())
        lines.append(f'<span class="mso-sev mso-{css}">{md.escape_line(f"{e.severity:<8}")}</span> '
                     f"{e.line:>6}  {md.escape_line(e.text)}")
    return '<pre class="mso-log">' + "\n".join(lines) + "</pre>"


def _tail(run: Run, label: str, rel: str, files: Files, unfold: bool, ran: bool) -> str:
    path = run.file(rel)
    if path is None:   # an empty log is not kept
        return f"**{label}**: empty." if ran else ""
    lines = tail(path, TAIL_LINES)
    target = files.link(run, rel)
    whole = f" ({md.link('whole file', target)})" if target else ""
    if not lines:
        return f"**{label}**: empty.{whole}"
    summary = f"{label}: last {len(lines)} line{'s' * (len(lines) != 1)}"
    return f"**{label}**{whole}\n\n" + md.details(summary, md.pre(lines), "quote", unfold)

