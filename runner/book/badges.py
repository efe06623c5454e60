"""Status badges: an SVG per experiment saying how its latest run went, drawn by anybadge,
written into the site (`badges/<experiment>.svg`) for READMEs and the experiment pages."""

from __future__ import annotations

from runner.book.context import Context

FOLDER = "badges"
NO_RUNS = "no runs"
COLORS = {"succeeded": "#4c1", "failed": "#e05d44", "cancelled": "#9f9f9f",
          "running": "#007ec6", "queued": "#dfb317", "pending": "#dfb317", "paused": "#fe7d37"}


def path(experiment: str) -> str:
    """The docs path of an experiment's badge."""
    return f"{FOLDER}/{experiment}.svg"


def svg(label: str, state: str) -> str:
    """A flat badge `label | state`, coloured by the state."""
    import anybadge

    badge = anybadge.Badge(label, state, default_color=COLORS.get(state, "#9f9f9f"))
    # anybadge numbers its masks per process; a fixed id keeps every build byte-identical
    badge.mask_str = "mso-badge"
    return badge.badge_svg_text


def files(ctx: Context) -> dict[str, bytes]:
    """Every experiment's badge, by docs path."""
    found = {}
    for name in ctx.experiment_names():
        runs = ctx.runs.get(name)
        found[path(name)] = svg(name, runs[-1].record.state if runs else NO_RUNS).encode()
    return found
