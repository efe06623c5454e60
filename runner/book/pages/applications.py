"""Application pages: what can run, its parameters, inputs, outputs and log filters."""

from __future__ import annotations

import re
import shlex

from runner.book import schemainfo
from runner.book.context import Context, Page
from runner.declarations.models import Application
from runner.results import markdown as md
from runner.results.book_paths import application_page, experiment_page

INDEX = "applications/index.md"


def pages(ctx: Context) -> list[Page]:
    """The applications index and one page per application."""
    apps = [ctx.repo.applications[n] for n in sorted(ctx.repo.applications)]
    rows = [[md.link(a.name, md.rel(INDEX, application_page(a.name))), md.text(a.version),
             md.text(a.description), md.text(", ".join(a.owners))] for a in apps]
    index = Page(INDEX, "Applications", "What can run: each application's container, command, "
                 "parameters, inputs, outputs and log filters.\n\n"
                 + md.table(("Application", "Version", "Description", "Owners"), rows,
                            "No applications yet: add one in applications/."))
    return [index] + [_page(ctx, a) for a in apps]


def _page(ctx: Context, app: Application) -> Page:
    path = application_page(app.name)
    parts = [md.paragraphs(app.description), _facts(app), "## Command",
             md.pre([command_line(app.command)]),
             "## Parameters", parameter_table(app.parameters),
             "## Inputs", _inputs(app), "## Outputs", _outputs(app),
             "## Log filters", _logs(app), "## Used by", _users(ctx, app, path)]
    return Page(path, f"{app.name} {app.version}", "\n\n".join(parts))


def command_line(argv: tuple[str, ...]) -> str:
    """The argv as one line, quoting only what needs it (placeholders stay readable)."""
    return " ".join(a if re.fullmatch(r"[^\s'\"\\$`;&|<>()*?!#~]+", a) else shlex.quote(a)
                    for a in argv)


def _facts(app: Application) -> str:
    c = app.container
    image = md.code(c.image) if c and c.image else md.NONE
    recipe_path = (c.dockerfile or c.definition) if c else None
    recipe = md.code(recipe_path) if recipe_path else md.NONE
    r = app.resources
    res = ", ".join(f"{k.replace('_', ' ')} {md.text(v)}" for k, v in
                    (("tasks", r.tasks), ("cpus_per_task", r.cpus_per_task), ("nodes", r.nodes),
                     ("gpus", r.gpus), ("memory", r.memory), ("walltime", r.walltime)) if v)
    env = ", ".join(f"{md.code(k)}={md.code(v)}" for k, v in sorted(app.environment.items()))
    return md.facts([("Version", md.text(app.version)), ("Owners", md.text(", ".join(app.owners))),
                     ("Licence", md.text(app.license or "")),
                     ("Homepage", md.external(app.homepage)),
                     ("Container image", image), ("Container recipe", recipe),
                     ("Default resources", res), ("Environment", env),
                     ("Declared in", md.code(app.path))])


def parameter_table(parameters) -> str:
    """Name, type, default, bounds and description of every parameter in a parameter schema."""
    props = parameters.get("properties", {}) if parameters else {}
    required = set(parameters.get("required", ())) if parameters else set()
    rows = []
    for name in props:
        p = props[name]
        default = md.code(p["default"]) if "default" in p else ("required" if name in required
                                                                  else md.NONE)
        rows.append([md.code(name), md.text(schemainfo.type_of(p)), default,
                     md.text(schemainfo.bounds(p)), md.text(p.get("description", ""))])
    return md.table(("Name", "Type", "Default", "Bounds", "Description"), rows, "No parameters.")


def _inputs(app: Application) -> str:
    rows = [[md.code(n), md.text(i.description), "optional" if i.optional else "required"]
            for n, i in sorted(app.inputs.items())]
    return md.table(("Input", "Description", "Binding"), rows, "No inputs.")


def _outputs(app: Application) -> str:
    return md.table(("Output (glob, relative to the task's work dir)",),
                    [[md.code(o)] for o in app.outputs], "No declared outputs.")


def _logs(app: Application) -> str:
    rows = [[md.code(spec.path), md.code(f.pattern), md.state(f.severity), md.text(f.verbosity),
             md.text(f.progress) if f.progress is not None else md.NONE]
            for spec in app.logs for f in spec.filters]
    return md.table(("Log file", "Pattern", "Severity", "Verbosity", "Progress"), rows,
                    "No application logs are classified.")


def _users(ctx: Context, app: Application, path: str) -> str:
    names = sorted(e.name for e in ctx.repo.experiments.values()
                   if any(s.application == app.name for s in e.steps))
    rows = [[md.link(n, md.rel(path, experiment_page(n))),
             md.text(ctx.repo.experiments[n].description)] for n in names]
    return md.table(("Experiment", "Description"), rows, "No experiment uses it yet.")
