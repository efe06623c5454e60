"""`mso plan [EXPERIMENT...] [--changed-since REF]`: what a run would do, and why, without running."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from runner.words import plural


def add(sub) -> None:
    p = sub.add_parser("plan", help="say which experiments would run, where, why, with their scripts")
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT")
    p.add_argument("--changed-since", metavar="REF",
                   help="only experiments whose files (or their applications', datasets', "
                        "infrastructures') changed since this git revision")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="also write the plan as Markdown")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runner.plan import changes
    from runner.declarations import crossref
    from runner.declarations.repository import load_valid

    repo = load_valid(Path(args.repo).resolve(), data=True)
    chosen = changes.select(repo, changes.named(repo, args.experiments), Path(args.repo), args.changed_since)
    from runner.schedulers.context import Context
    from runner.secrets import Secrets
    with Context(Secrets.of(repo)) as ctx:   # placement asks schedulers and clouds
        entries = [_entry(ctx, repo, repo.experiments[name], why) for name, why in chosen.items()]
    paths = {repo.experiments[name].path for name in chosen}
    warnings = [w for w in crossref.warnings(repo) if w.split(":", 1)[0] in paths]
    for line in warnings:
        print(line, file=sys.stderr)
    if args.markdown:
        from runner.fsutil import write_atomic
        write_atomic(args.markdown, markdown(entries, args.changed_since))
    if args.json:
        print(json.dumps({"ok": True, "experiments": entries, "warnings": warnings}, indent=2))
    else:
        _table(entries)
    return 0


def _entry(ctx, repo, exp, changed: list[str] | None) -> dict:
    from runner import state
    from runner.placement import choose
    from runner.plan import explain, resolve as planning, reuse
    from runner.runs import dryrun
    p = planning.plan(repo, exp)
    records = state.records(Path(repo.root) / "results", exp.name)
    reason, last = _reason(records, p.spec_hash)
    runs = reason != "up to date"
    points = reuse.decide(p.tasks, reuse.history(records)) if runs else None
    last_run, snap = explain.last_snapshot(records)
    what = explain.changes(snap, p.spec) if snap else [] if last_run is None else [
        f"not known: the last run ({last_run}) kept no record of its declarations"]
    if points and points.reused:
        what += _image_moves(repo, p, points)
    todo = set(points.runs) if points else set()
    p, placed = choose.placed(ctx, repo, p, todo, lambda _: None)
    return {"experiment": exp.name, "runs": runs, "reason": reason, "last_run": last,
            "spec_hash": p.spec_hash, "tasks": len(p.tasks), "to_run": len(todo),
            "points": points.as_json() if points else
            {"new": 0, "reused": len(p.tasks), "failed_before": 0, "rerun": 0},
            "infrastructures": sorted({t.infrastructure for t in p.tasks}),
            "changes": what if runs else [], "changed_files": changed or [],
            "scripts": dryrun.task_scripts(repo, p, todo) if todo else [], "placement": placed}


def _image_moves(repo, p, points) -> list[str]:
    """Points that would be reused but whose image now resolves to another digest run again, as
    `mso run` decides; the registry is asked as a run asks it (what it cannot say, plan says)."""
    from runner.errors import MsoError
    from runner.runs import images
    try:
        resolved = images.resolve(repo, p)
    except MsoError as exc:
        return [f"image digests not checked: {exc}"]
    kept, lines = images.same_digests(p, points.reused, resolved)
    points.image_changed(set(points.reused) - set(kept))
    return lines


def _reason(records: list, spec_hash: str) -> tuple[str, str | None]:
    """new, changed, failed before, unfinished (resumes) or up to date; and the run it is about
    (from the experiment's runs, state.records)."""
    from runner import state
    same = [r for _, r in records if r.spec_hash == spec_hash]
    if any(r.state == state.State.SUCCEEDED for r in same):
        return "up to date", next(r.run_id for r in reversed(same)
                                  if r.state == state.State.SUCCEEDED)
    if same and not same[-1].state.terminal:
        return "unfinished (resumes)", same[-1].run_id
    if same:
        return f"{same[-1].state.value} before", same[-1].run_id
    return ("changed", records[-1][1].run_id) if records else ("new", None)


def _table(entries: list[dict]) -> None:
    if not entries:
        print("nothing to run")
        return
    for e in entries:
        where = ", ".join(e["infrastructures"])
        if e["runs"]:
            print(f"{e['experiment']:<24} runs  {e['to_run']:>5} of {plural(e['tasks'], 'task')} "
                  f"on {where}: {e['reason']}, {_counts(e['points'])}")
        else:
            print(f"{e['experiment']:<24} skips {plural(e['tasks'], 'task')} on {where}: "
                  f"{e['reason']}")
        for line in [*map(_placed, e["placement"]), *e["changes"]]:
            print(f"    {line}")


def _placed(decision: dict) -> str:
    from runner.placement.words import line
    return f"placement: {line(decision)}"


def _counts(points: dict) -> str:
    return (f"{points['new']} new, {points['reused']} reused, {points['failed_before']} failed "
            "before" + (f", {points['rerun']} succeeded before and rerun" if points["rerun"] else ""))


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(entries: list[dict], ref: str | None) -> str:
    """The plan as a Markdown table with each experiment's job scripts folded away."""
    head = f"changed since `{ref}`" if ref else "all experiments"
    lines = [f"### mso plan ({head})", "",
             "| experiment | runs | tasks | where | why |", "|---|---|---:|---|---|"]
    for e in entries:
        why = f"{e['reason']}: {_counts(e['points'])}" if e["runs"] else e["reason"]
        tasks = f"{e['to_run']} of {e['tasks']}" if e["runs"] else str(e["tasks"])
        lines.append(f"| {_cell(e['experiment'])} | {'yes' if e['runs'] else 'no'} | {tasks} | "
                     f"{', '.join(e['infrastructures'])} | {_cell(why)} |")
    if not entries:
        lines.append("| (nothing to run) | | | | |")
    for e in entries:
        for decision in e["placement"]:
            lines += ["", f"**{_cell(e['experiment'])}**: {_cell(_placed(decision))}"]
        for decision in e["placement"]:
            lines += [f"- {_cell(name)}: " + "; ".join(f"{part}: {_cell(why)}" for part, why in
                                                      prediction["why"].items())
                      for name, prediction in decision["predictions"].items()]
    for e in entries:
        if e["changes"]:
            lines += ["", f"**{_cell(e['experiment'])}**: what changed since the last run", ""]
            lines += [f"- `{line.replace('`', chr(39))}`" for line in e["changes"]]
    for e in entries:
        for t in e["scripts"][:3]:
            fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", t["script"])), default=0))
            lines += ["", f"<details><summary>{e['experiment']} {t['id']}</summary>", "",
                      f"{fence}bash", t["script"].rstrip(), fence, "", "</details>"]
        if len(e["scripts"]) > 3:
            lines.append(f"\n({len(e['scripts']) - 3} more tasks of {e['experiment']} not shown)")
    return "\n".join(lines) + "\n"
