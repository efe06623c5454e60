"""Experiment pages: what is run, with which parameters, where, and every run so far."""

from __future__ import annotations

from runner.book import badges, history
from runner.book.context import Context, Page
from runner.book.pages import results
from runner.declarations import matrix
from runner.declarations.models import Experiment, InputBinding, Resources
from runner.results import markdown as md
from runner.results import summary
from runner.results.book_paths import (application_page, dataset_page, experiment_page,
                                       infrastructure_page, run_page)

INDEX = "experiments/index.md"
SHOWN_RUNS = 50   # on an experiment's page, newest first; the older ones on its archive page


def pages(ctx: Context) -> list[Page]:
    """The experiments index and one page per experiment (also for runs left without one)."""
    rows = [_index_row(ctx, n) for n in ctx.experiment_names()]
    index = Page(INDEX, "Experiments", "What has been asked, and how each run of it went. "
                 "Every experiment page lists its runs, newest first.\n\n"
                 + md.table(("Experiment", "Description", "Application", "Runs", "Latest run",
                             "Latest state"), rows, "No experiments yet: add one in experiments/."))
    found = [index]
    for name in ctx.experiment_names():
        found += [_page(ctx, name), *_archive(ctx, name)]
    return found


def _index_row(ctx: Context, name: str) -> list[str]:
    exp = ctx.repo.experiments.get(name)
    runs = ctx.runs.get(name, [])
    latest = runs[-1] if runs else None
    return [md.link(name, md.rel(INDEX, experiment_page(name))),
            md.text(exp.description) if exp else "_no longer declared_",
            md.text(_app_ref(exp)) if exp else md.NONE, str(len(runs)),
            md.when(summary.of(latest).started) if latest else md.NONE,
            md.state(latest.record.state) if latest else md.NONE]


def _app_ref(exp: Experiment) -> str:
    return f"{exp.application}@{exp.application_version}" if exp.application_version \
        else exp.application


def _page(ctx: Context, name: str) -> Page:
    path = experiment_page(name)
    exp = ctx.repo.experiments.get(name)
    runs = ctx.runs.get(name, [])
    found = results.section(exp, runs, path)
    badge = f"![status of {md.text(name)}]({md.rel(path, badges.path(name))})"
    if exp is None:
        parts = [badge, "This experiment is no longer declared; its runs are kept.", found.text,
                 *_runs(name, runs, path)]
        return Page(path, name, "\n\n".join(p for p in parts if p), plots=found.plots)
    # the question, then its answer: the results come before what was declared to get them
    parts = [badge, md.paragraphs(exp.description), found.text, "## Experiment",
             _facts(ctx, exp, path), "## Parameters", _parameters(exp), "## Matrix", _matrix(exp), "## Inputs",
             _inputs(exp.inputs, path), "## Resources", resources(exp.resources),
             *_steps(ctx, exp, path), *_runs(name, runs, path), *_published(runs, path)]
    return Page(path, name, "\n\n".join(p for p in parts if p), plots=found.plots)


def archive_page(name: str) -> str:
    """The page of an experiment's runs older than the SHOWN_RUNS its own page lists."""
    return f"experiments/{name}/archive.md"


def _runs(name: str, runs: list, path: str) -> list[str]:
    """The Runs section: the newest SHOWN_RUNS, and a link to the archive for the rest."""
    shown = runs[-SHOWN_RUNS:][::-1]
    table = md.table(history.HEAD, [history.row(r, path) for r in shown],
                     f"No runs yet: `mso run {name}` starts one.")
    older = len(runs) - len(shown)
    text = f"{len(runs)} run{'s' * (len(runs) != 1)}, newest first."
    if older:
        link = md.link(f"{older} older run{'s' * (older != 1)}", md.rel(path, archive_page(name)))
        text += f" The latest {len(shown)} are listed here; {link} are on the archive page."
    return ["## Runs", text, table]


def _archive(ctx: Context, name: str) -> list[Page]:
    """The archive page of an experiment with more than SHOWN_RUNS runs (not searched)."""
    runs = ctx.runs.get(name, [])
    older = runs[:-SHOWN_RUNS][::-1]
    if not older:
        return []
    path = archive_page(name)
    back = md.link(name, md.rel(path, experiment_page(name)))
    body = (f"The runs of {back} older than its latest {SHOWN_RUNS}, newest first.\n\n"
            + md.table(history.HEAD, [history.row(r, path) for r in older]))
    return [Page(path, f"{name}: older runs", body, searchable=False)]


def _published(runs: list, path: str) -> list[str]:
    """The datasets its runs published (publish_outputs), newest first, linked both ways."""
    rows = [[md.link(n, md.rel(path, dataset_page(n))),
             md.link(r.run_id, md.rel(path, run_page(r.experiment, r.run_id)))]
            for r in reversed(runs) for n in r.record.published]
    return ["## Published datasets", md.table(("Dataset", "Run"), rows)] if rows else []


def _facts(ctx: Context, exp: Experiment, path: str) -> str:
    app_link = (md.link(_app_ref(exp), md.rel(path, application_page(exp.application)))
                if exp.application in ctx.repo.applications else md.text(_app_ref(exp)))
    infra = _places(ctx, exp.candidates or (exp.infrastructure,), path)
    if exp.candidates:
        infra += f" ({md.code('placement: ' + str(exp.placement))})"
    return md.facts([("Application", app_link), ("Infrastructure", infra),
                     ("Owners", md.text(", ".join(exp.owners))),
                     ("Tags", ", ".join(md.code(t) for t in exp.tags)),
                     ("Tasks per run", str(len(matrix.points(exp)) * len(exp.steps))),
                     ("Declared in", md.code(exp.path))])


def _places(ctx: Context, names: tuple[str, ...], path: str) -> str:
    """Infrastructures as links to their pages, `a or b` for candidates."""
    return " or ".join(md.link(n, md.rel(path, infrastructure_page(n)))
                       if n in ctx.infrastructures else md.text(n) for n in names)


def _parameters(exp: Experiment) -> str:
    rows = [[md.code(k), md.code(v)] for k, v in exp.parameters.items()]
    return md.table(("Parameter", "Value"), rows, "The application's defaults.")


def _matrix(exp: Experiment) -> str:
    rows = [[md.code(k), ", ".join(md.code(v) for v in vals)] for k, vals in exp.matrix]
    text = md.table(("Parameter", "Values"), rows, "No sweep: one task per step.")
    if exp.exclude:
        text += "\n\nExcluded points: " + "; ".join(md.values(dict(e)) for e in exp.exclude)
    return text


def _inputs(bindings: dict[str, InputBinding], path: str) -> str:
    rows = []
    for name, b in sorted(bindings.items()):
        bound = (md.link(b.dataset, md.rel(path, dataset_page(b.dataset))) if b.dataset
                 else f"{md.code(b.path)} of step {md.code(b.step)}")
        rows.append([md.code(name), bound])
    return md.table(("Input", "Bound to"), rows, "No inputs.")


def resources(r: Resources) -> str:
    """What one task asks for, as a facts table."""
    passthrough = [f"{md.code(k)}={md.code(v)}" for k, v in [*r.slurm.items(), *r.pbs.items()]]
    return md.facts([("Nodes", md.text(r.nodes or "")), ("Tasks", md.text(r.tasks or "")),
                     ("CPUs per task", md.text(r.cpus_per_task or "")),
                     ("GPUs", md.text(r.gpus or "")), ("Memory", md.text(r.memory or "")),
                     ("Wall time", md.text(r.walltime or "")),
                     ("Scheduler options", ", ".join(passthrough))])


def _steps(ctx: Context, exp: Experiment, path: str) -> list[str]:
    if exp.implicit:
        return []
    rows = [[md.code(s.name), md.link(s.application, md.rel(path, application_page(s.application))),
             _places(ctx, s.places, path),
             ", ".join(md.code(n) for n in s.needs) or md.NONE,
             md.values(dict(s.parameters))] for s in exp.steps]
    return ["## Steps", md.table(("Step", "Application", "Infrastructure", "Needs", "Parameters"),
                                 rows)]
