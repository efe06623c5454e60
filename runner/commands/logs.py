"""`mso logs EXPERIMENT|RUN-ID [TASK]`: a task's stdout or stderr, from results/ once it ended,
from its work dir (through the transport) while it runs; `--follow` tails it until it ends."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Callable

from runner.commands import tasklines
from runner.errors import MsoError
from runner.secrets import Secrets
from runner.state import RECORD, RunRecord, State, TaskRecord

POLL = 1.0          # seconds between two reads while following
LISTED = 20         # tasks listed when none is named and none failed
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")   # never a glob, never a path
Out = Callable[[str], None]


def add(sub) -> None:
    p = sub.add_parser("logs", help="show a task's output: from results/ once it ended, from "
                                    "its work dir while it runs")
    p.add_argument("target", metavar="EXPERIMENT|RUN-ID",
                   help="an experiment (its latest run) or a run id")
    p.add_argument("task", nargs="?", metavar="TASK",
                   help="a task id (default: the first failed task, or the only task)")
    p.add_argument("-f", "--follow", action="store_true",
                   help="while the task runs, print what it writes until it ends")
    p.add_argument("--stderr", action="store_true", help="its stderr (default: its stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner.declarations.repository import load, require_root
    root = Path(args.repo)
    require_root(root)
    repo = load(root).repo   # a declaration with errors does not hide finished runs' logs
    folder, record = find_run(root / "results", args.target, sorted(repo.experiments))
    task = pick_task(record, args.task)
    stream = "stderr" if args.stderr else "stdout"
    secrets = Secrets.of(repo)
    out = _Sink(args.json)
    if not args.json:
        _header(record, task, stream)
    live = not task.state.terminal and (args.follow or task.state != State.PENDING)
    if live:
        path, task = _live(root, folder, record, task, stream, secrets, args.follow, out)
    else:
        path, text = finished(folder, task, stream, secrets)
        out(text)
    if args.json:
        print(json.dumps({"ok": True, "run_id": record.run_id, "task": task.id,
                          "state": task.state.value, "stream": stream, "path": path,
                          "text": "".join(out.parts)}, indent=2))
    elif task.state == State.PENDING:
        print(f"mso: {task.id} has not started yet; `mso logs --follow` waits for it",
              file=sys.stderr)
    elif not out.said:
        print(f"mso: its {stream} is empty ({path})", file=sys.stderr)
    return 0


class _Sink:
    """Where the text goes: straight to stdout, or kept for the JSON answer."""

    def __init__(self, keep: bool) -> None:
        self.keep, self.parts, self.said = keep, [], False

    def __call__(self, text: str) -> None:
        self.said = self.said or bool(text)
        if self.keep:
            self.parts.append(text)
        elif text:
            sys.stdout.write(text)
            sys.stdout.flush()


def find_run(results: Path, target: str, experiments: list[str]) -> tuple[Path, RunRecord]:
    """The run a target names: an experiment's latest run, or a run by its id."""
    from runner import state
    runs = sorted(results.glob(f"*/*/{RECORD}")) if results.is_dir() else []
    if _NAME.match(target):
        latest = state.records(results, target)
        if latest:
            return latest[-1]
        for path in runs:
            if path.parent.name == target:
                return path.parent, state.load(path)
    if target in experiments:
        raise MsoError(f"experiment '{target}' has no runs yet; `mso run {target}` starts one")
    known = sorted(set(experiments) | {p.parent.parent.name for p in runs})
    hint = _did_you_mean(target, known + [p.parent.name for p in runs], known)
    raise MsoError(f"no experiment or run '{target}' in results/" + (f" ({hint})" if hint else ""))


def _did_you_mean(word: str, choices: list[str], listed: list[str]) -> str:
    from runner.declarations.schema import did_you_mean
    close = did_you_mean(word, choices, "")
    if close.startswith("did you mean"):
        return close
    return f"experiments: {', '.join(listed)}" if listed and len(listed) <= 12 else ""


def pick_task(record: RunRecord, wanted: str | None) -> TaskRecord:
    """The task named, else the first failed one, else the only one."""
    from runner.declarations.schema import did_you_mean
    ids = [t.id for t in record.tasks]
    if wanted is not None:
        if wanted in ids:
            return record.task(wanted)
        hint = did_you_mean(wanted, ids, "tasks")
        raise MsoError(f"run {record.run_id} has no task '{wanted}'" + (f" ({hint})" if hint else ""))
    failed = [t for t in record.tasks if t.state == State.FAILED]
    if failed or len(record.tasks) == 1:
        return (failed or record.tasks)[0]
    raise MsoError(_listing(record))


def _listing(record: RunRecord) -> str:
    from runner.words import plural
    keys = tasklines.distinguishing([t.parameters for t in record.tasks])
    width = max(len(t.id) for t in record.tasks)
    lines = [f"  {t.id:<{width}}  {t.state.value:<9}  {tasklines.params_text(t.parameters, keys)}"
             .rstrip() for t in record.tasks[:LISTED]]
    if len(record.tasks) > LISTED:
        lines.append(f"  ... and {len(record.tasks) - LISTED} more")
    return (f"run {record.run_id} of {record.experiment} has {plural(len(record.tasks), 'task')} "
            f"and none failed; name one: mso logs {record.run_id} TASK\n" + "\n".join(lines))


def finished(folder: Path, task: TaskRecord, stream: str, secrets: Secrets) -> tuple[str, str]:
    """Where a task's log is in results/ and its text (empty when it wrote nothing); a reused
    task's are its origin's."""
    path = folder / (getattr(task, stream) or f"{task.id}/{stream}.txt")
    if not path.is_file() and task.reused:
        path = folder.parent / task.reused["run"] / task.reused["task"] / f"{stream}.txt"
    text = path.read_text("utf-8", errors="replace") if path.is_file() else ""
    return tasklines.where(path, Path.cwd()), secrets.mask(text)


def _live(root: Path, folder: Path, record: RunRecord, task: TaskRecord, stream: str,
          secrets: Secrets, follow: bool, out: Out) -> tuple[str, TaskRecord]:
    """Read the log from the task's work dir while it runs (following it when asked)."""
    from runner.declarations.repository import load_valid
    from runner.runs import resume
    from runner.schedulers import script
    from runner.schedulers.context import Context
    from runner.staging.tail import Tail
    repo = load_valid(root)
    with Context(secrets) as ctx:
        active = resume.load(ctx, repo, folder, record)
        place = active.place(task.id)
        work = place.area.task_dir(task.id)
        rel = script.STDERR if stream == "stderr" else script.STDOUT
        tail = Tail(place.scheduler.transport, work, rel, secrets)
        remote = place.infra.kind != "local"
        path = f"{place.infra.host}:{work / rel}" if remote else str(work / rel)
        if not follow:
            text = tail.read()
            if text is not None:
                out(text + tail.rest(complete=False))
                return path, task
            return _after(folder, task.id, stream, secrets, tail, out)
        return _follow(active, folder, task.id, stream, tail, out, path)


def _follow(active, folder: Path, task_id: str, stream: str, tail, out: Out,
            path: str) -> tuple[str, TaskRecord]:
    """Print what the task writes until run.json says it ended, or its job is over (no runner
    may be watching to say so), then the rest."""
    from runner import state
    told = False
    while (text := tail.read()) is not None:
        out(text)
        task = state.load(folder / RECORD).task(task_id)
        if task.state == State.PENDING and not told:
            print(f"mso: {task_id} has not started yet; waiting for it (Ctrl-C stops)",
                  file=sys.stderr)
            told = True
        if task.state.terminal or _job_over(active, task):
            final = tail.read()
            if final is None:
                break
            out(final + tail.rest(complete=True))
            if not task.state.terminal:
                print(f"mso: {task_id}'s job has ended; the runner watching it (or the next "
                      "`mso run`) records how", file=sys.stderr)
            return path, state.load(folder / RECORD).task(task_id)
        time.sleep(POLL)
    return _after(folder, task_id, stream, active.secrets, tail, out)


def _after(folder: Path, task_id: str, stream: str, secrets: Secrets, tail,
           out: Out) -> tuple[str, TaskRecord]:
    """The work dir is gone (the task ended and its run was closed): the rest from results/."""
    from runner import state
    task = state.load(folder / RECORD).task(task_id)
    path, text = finished(folder, task, stream, secrets)
    out(text[tail.shown:])
    return path, task


def _job_over(active, task: TaskRecord) -> bool:
    """Whether the task's scheduler says its job ended or no longer knows it (a failed query
    says nothing: the next poll asks again)."""
    if task.state not in (State.QUEUED, State.RUNNING) or not task.job_id:
        return False
    try:
        seen = active.place(task.id).scheduler.status({task.job_id: active.job(task.id)})
    except MsoError:
        return False
    return task.job_id not in seen or seen[task.job_id].ended


def _header(record: RunRecord, task: TaskRecord, stream: str) -> None:
    label = tasklines.params_text(task.parameters,
                                  tasklines.distinguishing([t.parameters for t in record.tasks]))
    said = f"{task.state.value}: {task.reason}" if task.reason else task.state.value
    print(f"==> {tasklines.task_line(record.experiment, task.id, label, said)} "
          f"[{record.run_id}, {stream}] <==", file=sys.stderr)
