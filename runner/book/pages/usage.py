"""The usage page: who ran what, the core time reserved and used, the largest requests, runs
per experiment, infrastructure and month, with a plot of each, and the VM-hours of cloud servers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Callable, Iterable

from runner.book.context import Context, Page
from runner.book.plots import Plot, Series, figure
from runner.book.pages import usage_vm
from runner.book.pages.usage_tally import Tally, core_time, infrastructure, memory, month, unit, \
    user
from runner.results import markdown as md
from runner.results.book_paths import experiment_page, infrastructure_page
from runner.results.records import Run

PATH = "usage.md"
HEAD = ("Runs", "Runs ok / failed", "Tasks", "Tasks ok / failed", "Task time")
USER_HEAD = ("User", "Runs", "Jobs", "Core time reserved", "Core time used", "Most cores in a job",
             "Most memory in a job")
INFRA_HEAD = ("Infrastructure", "Runs", "Jobs", "Core time reserved", "Core time used")
INTRO = ("How much has run, who ran it and how it went, counted from the run records in results/. "
         "A *job* is a task that ran (a task reused from an earlier run is not counted again). "
         "*Task time* adds up each job's wall time. *Core time reserved* is the cores a job asked "
         "for (one if it asked for none) times its wall time; *core time used* is the CPU time "
         "its wrapper or the cluster's accounting reported (jobs without one count nothing). "
         "A user is who triggered the run: the GitLab user in a pipeline, else the git author.")
VM_HEAD = ("Infrastructure", "Servers", "Runs", "VM-hours")
VM_INTRO = ("The cloud servers made for runs on `openstack` infrastructures, each from when it was "
            "made until it was deleted, or until the end of the time it was kept warm for a later "
            "run. A server kept warm and taken by a later run counts once. *Runs* are the runs "
            "that made or took the servers.")


def page(ctx: Context, now: dt.datetime | None = None) -> Page:
    """Usage figures and plots from the run records alone; cloud servers still up (or kept warm
    beyond it) count until `now`, the clock when the page is built unless given."""
    runs = list(ctx.all_runs)
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    servers = usage_vm.servers(runs, now)
    total = _tally(runs, lambda r: "all").get("all", Tally())
    by_user = _tally(runs, user)
    by_infra = _tally(runs, infrastructure)
    by_month = _tally(runs, month)
    user_core, infra_core = _core_plots(by_user, by_infra)
    user_plots = _drawn([_bars("Jobs per user", "User", "jobs", by_user, lambda t: t.jobs),
                         user_core,
                         _bars("Most cores in one job, per user", "User", "cores", by_user,
                               lambda t: t.most_cpus if t.jobs else None),
                         _bars("Most memory in one job, per user", "User", "memory (MiB)",
                               by_user, lambda t: t.most_memory_mb)])
    infra_plots = _drawn([infra_core])
    month_plots = _drawn([_bars("Runs per month", "Month (UTC)", "runs", by_month,
                                lambda t: t.runs)])
    parts = [INTRO, md.table(HEAD, [_cells(total)]),
             "## By user", md.table(USER_HEAD, [_user_row(k, t) for k, t in by_user.items()],
                                    "No runs yet."), *_figures(user_plots),
             "## By infrastructure",
             md.table(INFRA_HEAD, [_infra_row(_infra_link(ctx)(k), t) for k, t in by_infra.items()],
                      "No runs yet."), *_figures(infra_plots),
             *_vm_section(ctx, servers, now),
             "## By experiment",
             _grouped(_tally(runs, lambda r: r.experiment), "Experiment", _exp_link),
             "## By month", _grouped(by_month, "Month (UTC)", md.text,
                                     usage_vm.tally(servers, usage_vm.by_month) or None),
             *_figures(month_plots)]
    shown = (*user_plots, *infra_plots, *month_plots)
    return Page(PATH, "Usage", "\n\n".join(parts), plots=shown)


def _drawn(plots: list[Plot]) -> list[Plot]:
    """The plots that have something to show."""
    return [p for p in plots if any(y is not None for s in p.series for y in s.y)]


def _figures(plots: list[Plot]) -> list[str]:
    return [figure(p, PATH) for p in plots]


def _tally(runs: Iterable[Run], key: Callable[[Run], str]) -> dict[str, Tally]:
    """The runs counted per key, sorted by key."""
    groups: dict[str, Tally] = defaultdict(Tally)
    for run in runs:
        groups[key(run)].add(run)
    return dict(sorted(groups.items()))


def _cells(t: Tally) -> list[str]:
    return [str(t.runs), f"{t.runs_ok} / {t.runs_failed}", str(t.tasks),
            f"{t.tasks_ok} / {t.tasks_failed}", md.duration(t.task_s)]


def _used(t: Tally) -> str:
    return core_time(t.used_s) if t.used_known else md.NONE


def _user_row(name: str, t: Tally) -> list[str]:
    return [md.text(name), str(t.runs), str(t.jobs), core_time(t.reserved_s), _used(t),
            str(t.most_cpus) if t.jobs else md.NONE, memory(t.most_memory_mb)]


def _infra_row(name: str, t: Tally) -> list[str]:
    return [name, str(t.runs), str(t.jobs), core_time(t.reserved_s), _used(t)]


def _grouped(groups: dict[str, Tally], label: str, show: Callable[[str], str],
             vm: dict[str, usage_vm.VmTally] | None = None) -> str:
    """A row per group; with `vm`, each group's VM-hours too."""
    rows = [[show(k), *_cells(t), *([usage_vm.hours(vm.get(k))] if vm else [])]
            for k, t in groups.items()]
    return md.table((label, *HEAD, *(["VM-hours"] if vm else [])), rows, "No runs yet.")


def _vm_section(ctx: Context, servers: list[usage_vm.Server], now: dt.datetime) -> list[str]:
    """VM-hours per openstack infrastructure, when some run had cloud servers."""
    if not servers:
        return []
    intro = VM_INTRO
    if any(s.until_now for s in servers):
        intro += (" Servers still up, or kept warm longer, count until this page was built "
                  f"({now:%Y-%m-%d %H:%M} UTC).")
    show = _infra_link(ctx)
    rows = [[show(k), str(t.servers), str(len(t.runs)), usage_vm.hours(t)]
            for k, t in usage_vm.tally(servers, usage_vm.by_infrastructure).items()]
    return ["## VM-hours", intro, md.table(VM_HEAD, rows)]


def _bars(title: str, xlabel: str, ylabel: str, groups: dict[str, Tally],
          value: Callable[[Tally], float | None]) -> Plot:
    names = tuple(groups)
    return Plot(title, xlabel, ylabel, (Series(ylabel, names, tuple(value(groups[k]) for k in names)),),
                kind="bar")


def _core_plots(by_user: dict[str, Tally], by_infra: dict[str, Tally]) -> list[Plot]:
    """Core time reserved against used, per user and per infrastructure."""
    found = []
    for what, groups in (("User", by_user), ("Infrastructure", by_infra)):
        name, size = unit(max([t.reserved_s for t in groups.values()] + [0.0]))
        names = tuple(groups)
        series = (Series("reserved", names, tuple(groups[k].reserved_s / size for k in names)),
                  Series("used", names, tuple(groups[k].used_s / size if groups[k].used_known
                                              else None for k in names)))
        found.append(Plot(f"Core time reserved and used, per {what.lower()}", what,
                          f"core-{name}", series, kind="bar"))
    return found


def _exp_link(name: str) -> str:
    return md.link(name, md.rel(PATH, experiment_page(name)))


def _infra_link(ctx: Context) -> Callable[[str], str]:
    known = ctx.infrastructures
    return lambda name: (md.link(name, md.rel(PATH, infrastructure_page(name))) if name in known
                         else md.text(name))
