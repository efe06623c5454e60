"""`mso rerun RUN-ID [--verify]`: run a recorded run again exactly as recorded (its commit, its
datasets' checksums, its images' digests) into a new run of this repository; with --verify,
compare every output with the record and keep the comparison in results/."""

from __future__ import annotations

import argparse
import json
import signal
from pathlib import Path

from runner.errors import MsoError, SpecErrors

DIFFERS = 2   # the outputs differ, or the rerun failed


def add(sub) -> None:
    p = sub.add_parser("rerun", help="run a recorded run again exactly as recorded (its commit, "
                                     "datasets and images); --verify compares the outputs")
    p.add_argument("run_id", metavar="RUN-ID")
    p.add_argument("--verify", action="store_true",
                   help="compare every output's sha256 (JSON outputs field by field) with the "
                        "record; kept as results/<experiment>/RUN-ID/verify-<new run>.json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner.commands.ui import Reporter
    from runner.runs import rerun
    from runner.runs.worktree import Worktree

    current = Path(args.repo).resolve()
    folder, record = rerun.find(current / "results", args.run_id)
    why = rerun.refusal(record)
    if why:
        raise MsoError(f"cannot rerun {record.run_id} exactly: {why}")
    with Reporter(quiet=args.json) as ui, Worktree(current, record.git["commit"]) as tree:
        new, volatile = _rerun(tree, current, record, ui)
    verification = None
    if args.verify:
        from runner.results import verify
        verification = verify.compare((folder, record), (current / "results" / new.experiment /
                                                         new.run_id, new), volatile)
        verification["file"] = str(verify.write(folder, verification).relative_to(current))
    return _report(record, new, verification, args.json)


def _rerun(tree, current: Path, record, ui) -> tuple:
    """Plan the run at its commit, check it repeats the record, run and watch it; the new
    record, and the volatile fields of its applications (as declared then and now)."""
    from runner.declarations.construct import split_ref
    from runner.plan import resolve as planning
    from runner.runs import lifecycle, rerun
    from runner.schedulers.context import Context
    from runner.secrets import Secrets

    rerun.restore_data(tree.root, current, record)
    repo = _load(tree.root, record)
    if record.experiment not in repo.experiments:
        raise MsoError(f"experiment {record.experiment} is not declared at commit "
                       f"{record.git['commit'][:12]}")
    tree.link_outputs(repo, record.experiment)
    rerun.pin_images(Path(repo.root), current, repo, record)
    from runner.placement.choose import recorded
    plan = planning.plan(repo, repo.experiments[record.experiment], recorded(record))
    rerun.check(repo, plan, record, ui.line)
    apps = {split_ref(t.application)[0] for t in plan.tasks}
    with Context(Secrets.of(repo)) as ctx:
        active = rerun.start(ctx, repo, plan, record)
        ui.line(f"{record.experiment}: rerun of {record.run_id} at commit "
                f"{record.git['commit'][:12]}: run {active.record.run_id}, "
                f"{len(active.tasks)} tasks on {plan.infrastructure.name}")
        _watch(active, ui)
        lifecycle.close(active)
    return active.record, _volatile(repo, current, apps)


def _load(root: Path, record):
    from runner.declarations.repository import load_valid
    try:
        return load_valid(root)
    except SpecErrors as exc:
        raise MsoError(f"cannot rerun {record.run_id}: at its commit {record.git['commit'][:12]} "
                       f"the declarations do not pass this mso's checks:\n{exc}") from None


def _volatile(repo, current: Path, apps: set[str]) -> dict[str, list[str]]:
    """Output pattern -> volatile fields, as the applications declared them at the run's commit
    and as they declare them now (a timing field noticed later still counts)."""
    from runner.declarations.repository import load
    now = load(current).repo.applications
    found: dict[str, list[str]] = {}
    for app in [a for name in sorted(apps) for a in (repo.applications.get(name), now.get(name)) if a]:
        for pattern, fields in app.volatile.items():
            found.setdefault(pattern, [])
            found[pattern] += [f for f in fields if f not in found[pattern]]
    return found


def _watch(active, ui) -> None:
    """Watch the run to its end; interrupted, it is cancelled (its worktree is about to go)."""
    from runner.monitor.watcher import Watcher
    from runner.runs import lifecycle

    def event(r, t, text: str) -> None:
        ui.line(f"{r.record.experiment} {t.id}: {text}")
        ui.advance(r.record.run_id, sum(x.state.terminal for x in r.record.tasks))

    active.listen = event
    ui.bar(active.record.run_id, f"rerun {active.record.experiment}", len(active.tasks))
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        Watcher([active]).run()
    except BaseException:
        try:
            lifecycle.cancel(active, "mso rerun", "the rerun was interrupted; it ran in a "
                             "temporary worktree, which is removed, so it cannot be resumed")
        except MsoError as exc:   # the interruption is what the person must hear about
            ui.line(f"{active.record.run_id}: {exc}")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _report(record, new, verification: dict | None, as_json: bool) -> int:
    from runner.results import verify
    from runner.words import plural
    ok = new.state.value == "succeeded" and (verification is None or
                                             verification["result"] == "identical")
    if as_json:
        print(json.dumps({"ok": ok, "run": record.run_id, "rerun": new.run_id,
                          "experiment": new.experiment, "state": new.state.value,
                          "verification": verification}, indent=2))
        return 0 if ok else DIFFERS
    print(f"{new.experiment}: rerun of {record.run_id} is {new.run_id}: {new.state.value}")
    if verification is not None:
        v = verification
        print(f"verify: {v['result']}: {plural(v['compared'], 'output')} compared, "
              f"{v['identical']} identical, {v['volatile']} differ only in volatile fields")
        for entry in v["differences"]:
            for line in verify.describe(entry):
                print(f"  {line}")
        print(f"kept in {v['file']}")
    return 0 if ok else DIFFERS
