"""Infrastructure pages: where things run. Secrets are never shown, only the variables' names."""

from __future__ import annotations

from runner.book.context import Context, Page
from runner.declarations.models import EnvRef, Infrastructure
from runner.results import markdown as md
from runner.results.book_paths import experiment_page, infrastructure_page

INDEX = "infrastructures/index.md"


def pages(ctx: Context) -> list[Page]:
    """The infrastructures index and one page per infrastructure."""
    infras = list(ctx.infrastructures.values())
    rows = [[md.link(i.name, md.rel(INDEX, infrastructure_page(i.name))), md.text(i.kind),
             md.text(i.host or ""), md.text(i.partition or i.queue or ""),
             md.text(i.description)] for i in infras]
    index = Page(INDEX, "Infrastructures", "Where experiments run: this machine, hosts reached "
                 "over SSH, and Slurm or PBS clusters.\n\n"
                 + md.table(("Infrastructure", "Kind", "Host", "Partition / queue", "Description"),
                            rows, "No infrastructures declared."))
    return [index] + [_page(ctx, i) for i in infras]


def secret(value: str | EnvRef | None) -> str:
    """A credential as the book may show it: the environment variable's name, never a value."""
    if isinstance(value, EnvRef):
        return f"from environment variable {md.code(value.env)}"
    return md.text(value) if value else ""


def _page(ctx: Context, infra: Infrastructure) -> Page:
    path = infrastructure_page(infra.name)
    facts = md.facts([
        ("Kind", md.text(infra.kind)), ("Host", md.code(infra.host) if infra.host else ""),
        ("Port", md.text(infra.port) if infra.host else ""), ("User", secret(infra.user)),
        ("Private key", secret(infra.key)), ("Password", secret(infra.password)),
        ("Known hosts", secret(infra.known_hosts)), ("Jump host", md.text(infra.jump_host or "")),
        ("Work root", md.code(infra.work_root)), ("Partition", md.text(infra.partition or "")),
        ("Queue", md.text(infra.queue or "")), ("Account", md.text(infra.account or "")),
        ("Modules", ", ".join(md.code(m) for m in infra.modules)),
        ("Container runtime", md.text(infra.container_runtime)),
        ("Environment variables set", ", ".join(md.code(k) for k in sorted(infra.environment))),
        ("Declared in", md.code(infra.path))])
    parts = [md.paragraphs(infra.description), facts, "## Limits", _limits(infra),
             "## Used by", _users(ctx, infra, path)]
    return Page(path, infra.name, "\n\n".join(parts))


def _limits(infra: Infrastructure) -> str:
    return md.facts([
        ("Tasks at once", md.text(infra.max_parallel) if infra.max_parallel else "no limit"),
        ("Largest job array", md.text(infra.max_array_size) if infra.max_array_size else ""),
        ("Jobs queued at once", md.text(infra.max_submitted) if infra.max_submitted else ""),
        ("Longest wall time", md.text(infra.max_walltime or "")),
        ("Poll interval", f"{md.text(infra.poll_min)} s to {md.text(infra.poll_max)} s"),
        ("Keep work dirs", "yes" if infra.keep_workdir else "no")])


def _users(ctx: Context, infra: Infrastructure, path: str) -> str:
    names = sorted(e.name for e in ctx.repo.experiments.values()
                   if any(infra.name in s.places for s in e.steps))
    rows = [[md.link(n, md.rel(path, experiment_page(n)))] for n in names]
    return md.table(("Experiment",), rows, "No experiment uses it yet.")
