"""`mso run [EXPERIMENT...]`: resume unfinished runs, then run what is not up to date."""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path

from runner.commands import cancel
from runner.errors import MsoError
from runner.state import State

RUN_FAILED = 2


def add(sub) -> None:
    from runner.commands.run_hooks import duration
    p = sub.add_parser("run", help="run experiments (default: all) and record the results")
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT")
    p.add_argument("--dry-run", action="store_true",
                   help="print the tasks and each job script; run nothing")
    p.add_argument("--force", action="store_true",
                   help="run every point again, even those that succeeded before")
    p.add_argument("--rerun-failed", action="store_true",
                   help="run only the points that failed before (reusing the rest); new or "
                        "changed points are left for a plain `mso run`")
    p.add_argument("--cancel-on-interrupt", action="store_true",
                   help="on SIGINT/SIGTERM cancel the jobs (default: leave them running; in "
                        "a merge-request pipeline a SIGTERM always cancels them)")
    p.add_argument("--changed-since", metavar="REF",
                   help="only experiments whose files (or their applications', datasets', "
                        "infrastructures') changed since this git revision, as `mso plan`")
    p.add_argument("--resume-only", action="store_true",
                   help="only go on watching unfinished runs; start nothing new")
    p.add_argument("--without-credentials", choices=("fail", "dry-run"), default="fail",
                   help="when an infrastructure's secrets are not in the environment: fail "
                        "(default), or show the dry run and submit nothing (a fork's pipeline)")
    p.add_argument("--watch-for", type=duration, metavar="DURATION",
                   help="stop watching after this long (like 50m): the jobs go on, the runs "
                        "are paused and a later `mso run` resumes them")
    p.add_argument("--publish", action="store_true",
                   help="commit and push the run records after submitting and at the end, so "
                        "a later pipeline can resume; where to, as `mso publish` decides")
    p.add_argument("--junit", type=Path, metavar="FILE",
                   help="write the runs as a JUnit report (a test case per task) for GitLab")
    p.add_argument("--verbosity", type=_verbosity, default=0, metavar="N",
                   help="show the application's classified log lines whose verbosity is at most "
                        "N (default 0); warnings and errors always show")
    p.add_argument("--summary-every", type=duration, default=30.0, metavar="DURATION",
                   help="in a pipe or a CI log, how often a line sums up each run's progress "
                        "(default 30s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner.plan import changes
    from runner.commands.run_hooks import no_credentials_line
    from runner.publish.notify import Notifier
    from runner.declarations.repository import load_valid
    from runner.commands.ui import Reporter

    repo = load_valid(args.repo, data=True)
    names = list(changes.select(repo, changes.named(repo, args.experiments), Path(args.repo),
                                args.changed_since))
    if args.dry_run:
        return _dry_run(repo, names, args.json)
    blocked = _blocked(repo, names, args)
    refused = {n: m for n, m in blocked.items() if n in (args.experiments or ())}
    if refused and args.without_credentials == "fail":
        raise MsoError("; ".join(f"{n} needs {', '.join(m)}" for n, m in refused.items()) +
                       ": set these environment variables (or use --without-credentials dry-run)")
    remarks = [no_credentials_line(n, m) for n, m in blocked.items()]
    with Reporter(quiet=args.json) as ui:
        for line in remarks:
            ui.line(line)
        if args.resume_only and os.environ.get("CI_PIPELINE_SOURCE") == "schedule":
            from runner.publish.abandoned import reconcile   # closed merge requests' runs
            reconcile(Path(args.repo).resolve(), ui.line)
        notifier = Notifier.from_env(Path(args.repo).resolve(), ui.line, verbose=args.verbose)
        todo = [n for n in names if n not in blocked]
        summary, stats, records = _execute(repo, todo, args, ui, notifier, remarks)
    if args.junit:
        from runner.publish.report import write_junit
        from runner.secrets import Secrets
        write_junit(args.junit, Path(repo.root) / "results", records, Secrets.of(repo))
    summary += [{"experiment": n, "run_id": "", "state": "dry run"} for n in blocked]
    if blocked and not args.json:
        _dry_run(repo, list(blocked), False)
    return _report(summary, args.json, stats)


def _blocked(repo, names: list[str], args: argparse.Namespace) -> dict[str, list[str]]:
    """The experiments whose credentials this environment lacks (by the variables missing), among
    those that would do something: with --resume-only, the ones with an unfinished run. Named
    ones fail without them (unless --without-credentials dry-run); the others are dry runs."""
    from runner.commands.run_hooks import missing_secrets
    from runner.runs import resume
    blocked = {n: m for n in names if (m := missing_secrets(repo, n))}
    if args.resume_only:
        blocked = {n: m for n, m in blocked.items() if resume.unfinished(repo, n)}
    return blocked


def _execute(repo, names: list[str], args: argparse.Namespace, ui, notifier,
             remarks: list[str]) -> tuple[list, dict, list]:
    """Start or resume the runs, watch them, close them; tell GitLab and git along the way."""
    from runner.commands.run_hooks import Hooks, Publisher
    from runner.runs import lifecycle
    from runner.schedulers.context import Context
    from runner.secrets import Secrets
    publisher = Publisher(Path(args.repo).resolve(), ui.line) if args.publish else None
    held = cancel.Held()   # a SIGTERM while jobs are submitted waits until they are recorded
    previous = signal.signal(signal.SIGTERM, held)
    with Context(Secrets.of(repo)) as ctx, held.restoring(previous):
        active, summary = _start(ctx, repo, names, args, ui)
        hooks = Hooks(active, args.watch_for, publisher, notifier, remarks)
        hooks.notify()
        stats = _watch(active, ui, args, hooks, held)
        if hooks.timed_out:
            hooks.stop_watching(args.watch_for)
        for r in active:
            lifecycle.close(r)
            summary.append({"experiment": r.record.experiment, "run_id": r.record.run_id,
                            "state": r.record.state.value, "results": str(r.results),
                            "image_pulls": sum(i["pulled"] for i in r.record.images),
                            "waiting": hooks.timed_out and r.paused})
        hooks.notify()
    if publisher is not None:
        publisher()
    return summary, stats, [r.record for r in active]


def _start(ctx, repo, names: list[str], args: argparse.Namespace, ui) -> tuple[list, list[dict]]:
    """Resume each experiment's unfinished runs, then create what is not up to date, taking over
    the points that succeeded before (unless --force)."""
    from runner import gitinfo
    from runner.plan import resolve as planning
    from runner.placement import choose
    from runner.runs import create, resume
    active, summary = [], []
    _cleanup_clouds(repo, names, ui)
    for name in names:
        for results, record in resume.unfinished(repo, name):
            ui.line(f"{name}: resuming {record.run_id}")
            active.append(resume.resume(ctx, repo, results, record))
        if args.resume_only:
            continue
        p = planning.plan(repo, repo.experiments[name])
        if any(r.record.spec_hash == p.spec_hash for r in active if r.record.experiment == name):
            continue
        decision, skip = _decide(repo, p, args)
        if skip:
            ui.line(f"{name}: {skip[1]}")
            summary.append({"experiment": name, "run_id": skip[0], "state": skip[1].split(" (")[0]})
            continue
        todo = {t.id for t in p.tasks} - set(decision.reused)
        p, placed = choose.placed(ctx, repo, p, todo, ui.line)
        r = create.create(ctx, repo, p, gitinfo.describe(args.repo), decision.reused, placed)
        decision.image_changed({tid for tid in decision.reused if not r.record.task(tid).reused})
        ui.line(f"{name}: run {r.record.run_id} on {p.infrastructure.name}: {decision.counts()}")
        for image in r.record.images:
            ui.line(f"{name}: image {image['reference']}@{image['digest']} on "
                    f"{image['infrastructure']}: {'pulled' if image['pulled'] else 'cached'}")
        active.append(r)
    return active, summary


def _cleanup_clouds(repo, names: list[str], ui) -> None:
    """Servers that no live run holds (a runner that died, a run that ended without deleting
    them) are deleted before anything starts; a cloud that cannot be asked is a warning."""
    from runner.commands.cloud import cleanup
    from runner.runs.cloudhosts import clouds
    used = {p for n in names for s in repo.experiments[n].steps for p in s.places}
    for infra in clouds(repo, used):
        try:
            cleanup(infra, Path(repo.root) / "results", ui.line)
        except MsoError as exc:
            ui.line(f"warning: could not look for servers to clean up: {exc}")


def _decide(repo, p, args: argparse.Namespace):
    """What a new run of the plan does with each point, and (run id, why) when none is started:
    up to date, or (with --rerun-failed) nothing failed before or new points left alone."""
    from runner import state
    from runner.plan import reuse
    from runner.words import plural
    mode = reuse.FORCE if args.force else reuse.FAILED_ONLY if args.rerun_failed else reuse.DEFAULT
    records = state.records(Path(repo.root) / "results", p.experiment)
    done = None if args.force else _up_to_date(records, p.spec_hash)
    if done:
        return None, (done, f"up to date ({done})")
    decision = reuse.decide(p.tasks, reuse.history(records), mode)
    if mode == reuse.FAILED_ONLY and decision.new:
        return decision, ("", f"skipped ({plural(len(decision.new), 'new point')}: "
                              "--rerun-failed runs only points that failed before; a plain "
                              "`mso run` runs them)")
    if mode == reuse.FAILED_ONLY and not decision.failed_before:
        return decision, ("", "skipped (no point failed before)")
    return decision, None


def _up_to_date(records: list, spec_hash: str) -> str | None:
    """The latest of the experiment's runs (state.records) that succeeded with this very spec
    (also one recorded before identities)."""
    for _, record in reversed(records):
        if record.spec_hash == spec_hash and record.state == State.SUCCEEDED:
            return record.run_id
    return None


def _watch(active, ui, args: argparse.Namespace, hooks, held: "cancel.Held | None" = None) -> dict:
    """Watch the runs; the console (runner/commands/console.py) shows their tasks' events, log
    lines and progress. `held` knows of a SIGTERM that came while they started."""
    from runner.commands import tasklines
    from runner.commands.console import Console
    from runner.monitor.watcher import Watcher
    if not active:
        return {}
    console = Console(ui, args.verbosity, args.summary_every)

    def event(r, t, text: str) -> None:
        label = "" if text.startswith("paused:") else console.label(r, t)
        ui.line(tasklines.task_line(r.record.experiment, t.id, label, text))
        if not ui.quiet and t.state == State.FAILED and text.startswith("failed"):
            for line in tasklines.failure(r, t, Path.cwd()):
                ui.line(line)
        if ui.progress and t.state.terminal:
            ui.advance(r.record.run_id, sum(x.state.terminal for x in r.record.tasks))
        console.changed(r, t)

    def tick(submitted: int) -> bool:
        console.tick()
        return hooks(submitted)

    for r in active:
        r.listen, r.hear = event, console.hear
        ui.bar(r.record.run_id, r.record.experiment, len(r.tasks),
               sum(x.state.terminal for x in r.record.tasks))
    console.attach(active)
    watcher = Watcher(active, tick)
    previous = signal.signal(signal.SIGTERM, cancel.raise_terminated)
    try:
        if held is not None and held.signalled:
            raise cancel.Terminated
        watcher.run()
        return watcher.stats()
    except KeyboardInterrupt as exc:
        _stopped(active, args, hooks, isinstance(exc, cancel.Terminated))
        raise
    finally:
        console.close()
        signal.signal(signal.SIGTERM, previous)


def _verbosity(text: str) -> int:
    """`--verbosity N`: a whole number, 0 or more; an argparse type."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a verbosity (0, 1, 2 ...)")
    return int(text)


def _stopped(active, args: argparse.Namespace, hooks, terminated: bool) -> None:
    """Interrupted: cancel the runs when asked to, or when GitLab stopped a merge-request
    pipeline (SIGTERM), then publish that; else pause them and leave their jobs running."""
    by = cancel.by_pipeline(os.environ) if terminated else None
    if args.cancel_on_interrupt:
        by = by or ("interrupt", "cancelled when the runner was interrupted")
    cancel.interrupted(active, by)
    if by and hooks.publisher is not None:   # best effort, before GitLab's SIGKILL
        hooks.publisher("cancelled")


def _report(summary: list[dict], as_json: bool, stats: dict) -> int:
    failed = [s for s in summary if s["state"] not in ("succeeded", "up to date", "dry run",
                                                       "skipped") and not s.get("waiting")]
    if as_json:
        print(json.dumps({"ok": not failed, "runs": summary, "stats": stats}, indent=2))
    else:
        for s in summary:
            state = "waiting (jobs go on; `mso run` resumes)" if s.get("waiting") else s["state"]
            print(f"{s['experiment']:<24} {s['run_id']:<26} {state}")
    return RUN_FAILED if failed else 0


def _dry_run(repo, names: list[str], as_json: bool) -> int:
    from runner.plan import resolve as planning
    from runner.words import plural
    from runner.runs import dryrun
    out = []
    for name in names:
        p = planning.plan(repo, repo.experiments[name])
        out.append({"experiment": name, "spec_hash": p.spec_hash,
                    "infrastructure": p.infrastructure.name, "tasks": dryrun.task_scripts(repo, p)})
    if as_json:
        print(json.dumps({"ok": True, "plans": out}, indent=2))
        return 0
    for e in out:
        print(f"# {e['experiment']}: {plural(len(e['tasks']), 'task')} on {e['infrastructure']} "
              f"(spec {e['spec_hash'][:12]})")
        for t in e["tasks"]:
            params = " ".join(f"{k}={v}" for k, v in t["parameters"].items())
            print(f"\n## {t['id']}  {params}\n{t['script']}", end="")
    return 0
