"""Dataset pages: the data catalogue. A private dataset shows its name, its owners, how to ask for
access, the run that produced it and the experiments that use it: never its location,
credentials or description."""

from __future__ import annotations

from runner.book.context import Context, Page
from runner.declarations.models import Dataset
from runner.results import markdown as md
from runner.results.book_paths import dataset_page, experiment_page, run_page

INDEX = "datasets/index.md"
PRIVATE = ("This dataset is **private**: the book shows only its name and who to ask. "
           "Access: {access}")
ASK_OWNERS = "ask its owners: {owners}."
NO_OWNERS = "it names no owners: ask the maintainers of this repository."


def pages(ctx: Context) -> list[Page]:
    """The datasets index and one page per dataset."""
    sets = [ctx.repo.datasets[n] for n in sorted(ctx.repo.datasets)]
    rows = [_row(d) for d in sets]
    index = Page(INDEX, "Datasets", "The data catalogue: where each dataset lives, its checksum, "
                 "size and licence. Private datasets are listed by name only.\n\n"
                 + md.table(("Dataset", "Visibility", "Description", "Format", "Size", "Licence"),
                            rows, "No datasets yet: add one in datasets/."))
    return [index] + [_page(ctx, d) for d in sets]


def is_private(ds: Dataset | None) -> bool:
    """Whether the book must hide everything but the dataset's name."""
    return ds is None or ds.visibility != "public"


def _row(ds: Dataset) -> list[str]:
    name = md.link(ds.name, md.rel(INDEX, dataset_page(ds.name)))
    if is_private(ds):
        return [name, "private", "", "", "", ""]
    return [name, "public", md.text(ds.description), md.text(ds.format or ""), md.size(ds.size),
            md.text(ds.licence or "")]


def _page(ctx: Context, ds: Dataset) -> Page:
    path = dataset_page(ds.name)
    made = produced_by(ctx, ds, path)
    if is_private(ds):
        facts = md.facts([("Owners", md.text(", ".join(ds.owners))), ("Produced by", made)])
        text = PRIVATE.format(access=md.text(ds.access or _ask(ds)))
        return Page(path, ds.name, "\n\n".join([text, facts, "## Used by",
                                                  _users(ctx, ds, path)]))
    creds = ", ".join(f"{md.code(var)} from environment variable {md.code(ref.env)}"
                      for var, ref in sorted(ds.credentials.items()) if hasattr(ref, "env"))
    facts = md.facts([("Location", md.code(ds.location)), ("SHA-256", md.short(ds.sha256)),
                      ("Files", md.text(len(ds.manifest)) if ds.manifest else ""),
                      ("Size", md.size(ds.size) if ds.size is not None else ""),
                      ("Format", md.text(ds.format or "")), ("Licence", md.text(ds.licence or "")),
                      ("Owners", md.text(", ".join(ds.owners))), ("Credentials", creds),
                      ("Produced by", made), ("Declared in", md.code(ds.path))])
    return Page(path, ds.name, "\n\n".join([md.paragraphs(ds.description), facts,
                                            "## Used by", _users(ctx, ds, path)]))


def _ask(ds: Dataset) -> str:
    """How to get access when the dataset does not say: its owners, by name."""
    return ASK_OWNERS.format(owners=", ".join(ds.owners)) if ds.owners else NO_OWNERS


def produced_by(ctx: Context, ds: Dataset, path: str) -> str:
    """The run (and task) that wrote the dataset, linked to its page when the book has it."""
    made = ds.produced_by or {}
    exp, run = made.get("experiment", ""), made.get("run", "")
    if not run:
        return ""
    task = f", task {md.code(made['task'])}" if made.get("task") else ""
    known = any(r.run_id == run for r in ctx.runs.get(exp, ()))
    label = f"run {run} of {exp}"
    return (md.link(label, md.rel(path, run_page(exp, run))) if known else md.text(label)) + task


def published(ctx: Context, names: list[str], path: str) -> str:
    """A table of the datasets a run published, linked to their pages."""
    rows = []
    for n in names:
        ds = ctx.repo.datasets.get(n)
        cell = md.link(n, md.rel(path, dataset_page(n))) if ds else md.text(n)
        rows.append([cell, "no longer in the catalogue" if ds is None else ds.visibility])
    return md.table(("Dataset", "Visibility"), rows, "None.")


def _users(ctx: Context, ds: Dataset, path: str) -> str:
    names = sorted(e.name for e in ctx.repo.experiments.values()
                   if any(b.dataset == ds.name for b in _bindings(e)))
    rows = [[md.link(n, md.rel(path, experiment_page(n)))] for n in names]
    return md.table(("Experiment",), rows, "No experiment uses it yet.")


def _bindings(exp) -> list:
    return [*exp.inputs.values(), *(b for s in exp.steps for b in s.inputs.values())]
