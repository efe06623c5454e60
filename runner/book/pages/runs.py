"""Run pages: state, provenance, where the run was placed, the task table, resources asked and
used, and every task's outputs and logs."""

from __future__ import annotations

from markdown.extensions.toc import slugify

from runner.book.context import Context, Page
from runner.book.pages import placement, resources, tasks
from runner.book.pages.datasets import is_private, published
from runner.results import markdown as md
from runner.results import summary, verify
from runner.results.book_paths import (application_page, dataset_page, experiment_page,
                                       infrastructure_page, run_folder, run_page)
from runner.results.records import Run


def pages(ctx: Context) -> list[Page]:
    """One page per run (reachable from its experiment's history, kept out of the nav)."""
    return [page(ctx, run) for run in ctx.all_runs]


def page(ctx: Context, run: Run) -> Page:
    """The page of one run, with the result files it links to."""
    path = run_page(run.experiment, run.run_id)
    files = tasks.Files(run_folder(run.experiment, run.run_id))
    parts = [_overview(ctx, run, path), "## Provenance", _provenance(ctx, run, path),
             "**Input datasets**", _datasets(ctx, run, path)]
    if run.record.staged:
        parts += ["**Stage-in**", _staged(ctx, run)]
    if run.record.published:
        parts += ["**Published datasets**", published(ctx, run.record.published, path)]
    if run.record.placement:
        parts += ["## Placement", placement.section(run.record)]
    checked = verify.latest(run)
    if checked is not None:
        parts += ["## Verification", _verification(ctx, run, path, checked)]
    parts += ["## Tasks", _task_table(run), "## Resources", resources.section(run)]
    known = {r.run_id for r in ctx.runs.get(run.experiment, ())}
    private = any(is_private(ctx.repo.datasets.get(n)) for n in run.record.datasets)
    parts += [tasks.section(run, t, files, known, private) for t in run.record.tasks]
    # Kept out of the search index: every visitor who searches downloads the whole index, and
    # thousands of runs would make it huge; run ids stay searchable on the experiment pages.
    return Page(path, f"Run {run.run_id}", "\n\n".join(parts), tuple(files.copies),
                searchable=False)


def _overview(ctx: Context, run: Run, path: str) -> str:
    r, f = run.record, summary.of(run)
    exp = (md.link(run.experiment, md.rel(path, experiment_page(run.experiment))))
    return md.facts([("Experiment", exp), ("Rerun of", _run_link(ctx, run, path, r.rerun_of)),
                     ("State", md.state(r.state)),
                     ("Reason", md.text(r.reason or "")),
                     ("Cancelled by", md.text(r.cancelled_by or "")),
                     ("Tasks ok / failed / all", f"{f.succeeded} / {f.failed} / {f.total}"),
                     ("Planned (UTC)", md.when(r.created)), ("Started (UTC)", md.when(f.started)),
                     ("Wall time", md.duration(f.wall_seconds)),
                     ("Task time", md.duration(f.task_seconds)),
                     ("Last update (UTC)", md.when(r.updated))])


def _provenance(ctx: Context, run: Run, path: str) -> str:
    r = run.record
    git = r.git or {}
    commit = md.short(git.get("commit")) if git.get("commit") else "unknown (not in git)"
    if git.get("dirty"):
        commit += " with uncommitted changes"
    app = r.application
    app_ref = f"{app['name']}@{app['version']}"
    app_cell = (md.link(app_ref, md.rel(path, application_page(app["name"])))
                if app["name"] in ctx.repo.applications else md.text(app_ref))
    infra = r.infrastructure
    infra_cell = (md.link(infra["name"], md.rel(path, infrastructure_page(infra["name"])))
                  if infra["name"] in ctx.infrastructures else md.text(infra["name"]))
    infra_cell += f" ({md.text(infra['kind'])}" + (
        f" on {md.code(infra['host'])})" if infra.get("host") else ")")
    remote_dir = r.work_dir if infra["kind"] != "local" else ""   # a local path says nothing
    return md.facts([("Git commit", commit), ("Branch", md.text(git.get("branch") or "")),
                     ("Spec hash", md.short(r.spec_hash)), ("Application", app_cell),
                     ("Container image", md.code(app.get("image")) if app.get("image") else ""),
                     ("Image digest", _images(r.images)),
                     ("Infrastructure", infra_cell),
                     ("Work dir", md.code(remote_dir) if remote_dir else ""),
                     ("mso version", md.text(r.mso_version))])


def _images(images: list[dict]) -> str:
    """Each image the run used, pinned by digest, and where (pulled by this run or cached)."""
    return "<br>".join(f"{md.code(i['reference'])}@{md.short(i['digest'], 19)} on "
                       f"{md.text(i['infrastructure'])} ({md.text(i['runtime'])}, "
                       f"{'pulled' if i['pulled'] else 'cached'})" for i in images)


def _datasets(ctx: Context, run: Run, path: str) -> str:
    rows = []
    for name, sha in sorted(run.record.datasets.items()):
        ds = ctx.repo.datasets.get(name)
        cell = md.link(name, md.rel(path, dataset_page(name))) if ds else md.text(name)
        rows.append([cell, "private" if is_private(ds) else md.short(sha) if sha else md.NONE])
    return md.table(("Dataset", "SHA-256"), rows, "No input datasets.")


def _staged(ctx: Context, run: Run) -> str:
    """What stage-in moved per infrastructure and dataset: where it is on a remote host, but
    not a private dataset's path, nor a path on the machine that built the book."""
    rows = []
    for infra, sets in sorted(run.record.staged.items()):
        known = ctx.infrastructures.get(infra)
        remote = known is not None and known.kind != "local"
        for name, got in sorted(sets.items()):
            hidden = is_private(ctx.repo.datasets.get(name))
            where = "hidden (private)" if hidden else (
                md.code(got.get("path", "")) if remote and got.get("path") else "")
            rows.append([md.text(name), md.text(infra), md.text(got.get("route", "")),
                         md.size(got.get("bytes")), md.duration(got.get("seconds")), where])
    return md.table(("Dataset", "Infrastructure", "Route", "Moved", "Time", "Path"), rows)


def _task_table(run: Run) -> str:
    rows = []
    for t in run.record.tasks:
        rows.append([md.link(t.id, "#" + slugify(t.id, "-")), md.values(t.parameters),
                     md.state(t.state) + (" (reused)" if t.reused else ""),
                     md.text(t.exit_code) if t.exit_code is not None else md.NONE,
                     md.duration(md.seconds_between(t.started, t.ended)),
                     md.size(t.peak_memory_kb * 1024) if t.peak_memory_kb is not None else md.NONE,
                     md.text(t.reason or "")])
    return md.table(("Task", "Parameters", "State", "Exit code", "Wall time", "Peak memory",
                     "Reason"), rows, "No tasks.")


def _run_link(ctx: Context, run: Run, path: str, run_id: str | None) -> str:
    """A link to another run of the experiment, or its id when the book has no page for it."""
    if not run_id:
        return ""
    known = any(r.run_id == run_id for r in ctx.runs.get(run.experiment, ()))
    return (md.link(run_id, md.rel(path, run_page(run.experiment, run_id))) if known
            else md.code(run_id))


def _verification(ctx: Context, run: Run, path: str, checked: dict) -> str:
    """The latest `mso rerun --verify` of this run: identical or not, and every difference."""
    result = checked["result"]
    words = {"identical": "identical (volatile fields aside)" if checked.get("volatile")
             else "identical", "differs": "outputs differ", "failed": "the rerun failed"}[result]
    css = "succeeded" if result == "identical" else "failed"
    head = md.facts([("Rerun", _run_link(ctx, run, path, checked["rerun"])),
                     ("Verified (UTC)", md.when(checked.get("verified"))),
                     ("Result", f'<span class="mso-state mso-{css}">{md.text(words)}</span>'),
                     ("Outputs compared", md.text(checked.get("compared", "")))])
    rows = [[md.text(d["task"]), md.code(d["path"]) if d.get("path") else "",
             "<br>".join(md.text(line) for line in verify.details(d))]
            for d in checked["differences"]]
    return head + "\n\n" + md.table(("Task", "Output", "Difference"), rows,
                                     "Every output is byte for byte the same.")
