"""A run page's Resources section: per task what it asked for (cpus, memory, walltime) against
what it used (elapsed, CPU time, peak memory, queue wait, energy), and the run's sums."""

from __future__ import annotations

from runner.results import markdown as md
from runner.results.records import Run
from runner.state import TaskRecord

HEAD = ("Task", "CPUs", "Memory asked", "Walltime asked", "Elapsed", "CPU time", "Peak memory",
        "Queue wait", "Energy", "Figures from")


def section(run: Run) -> str:
    """The per-task table and the run's sums (durations as people read them, never 0.00 h)."""
    ran = [t for t in run.record.tasks if not t.reused]
    rows = [_row(t) for t in ran]
    table = md.table(HEAD, rows, "No task ran in this run (every one was reused).")
    if not ran:
        return table
    return md.facts(_sums(ran)) + "\n\n" + table


def elapsed(t: TaskRecord) -> float | None:
    """A task's wall time: the accounting's or the wrapper's figure, else its start to end."""
    used = t.usage or {}
    return used.get("elapsed_s", md.seconds_between(t.started, t.ended))


def _row(t: TaskRecord) -> list[str]:
    asked, used = t.requested or {}, t.usage or {}
    memory = asked.get("memory_mb")
    return [md.text(t.id), md.text(asked["cpus"]) if "cpus" in asked else md.NONE,
            md.size(memory * 1024 * 1024) if memory else md.NONE,
            md.duration(asked.get("walltime_s")), md.duration(elapsed(t)),
            md.duration(used.get("cpu_s")),
            md.size(t.peak_memory_kb * 1024) if t.peak_memory_kb is not None else md.NONE,
            md.duration(used.get("queue_wait_s")), energy(used.get("energy_j")),
            md.text(used.get("source", "")) or md.NONE]


def _sums(ran: list[TaskRecord]) -> list[tuple[str, str]]:
    """Core time reserved (cpus x elapsed) and used (CPU time), queue wait and energy, summed
    over the tasks that report them."""
    reserved = [(t.requested or {}).get("cpus", 1) * e for t in ran if (e := elapsed(t)) is not None]
    used = [u["cpu_s"] for t in ran if "cpu_s" in (u := t.usage or {})]
    waits = [u["queue_wait_s"] for t in ran if "queue_wait_s" in (u := t.usage or {})]
    joules = [u["energy_j"] for t in ran if "energy_j" in (u := t.usage or {})]
    share = (f" ({100 * sum(used) / sum(reserved):.0f} % of reserved)"
             if used and reserved and sum(reserved) > 0 else "")
    return [("Core time reserved (CPUs × elapsed)", md.duration(sum(reserved)) if reserved else md.NONE),
            ("Core time used (CPU time)", (md.duration(sum(used)) + share) if used else md.NONE),
            ("Queue wait, all tasks", md.duration(sum(waits)) if waits else md.NONE),
            ("Energy", energy(sum(joules)) if joules else md.NONE)]


def energy(joules: float | None) -> str:
    """Joules as people read them: 850 J, 5.4 kJ, 1.2 MJ."""
    if joules is None:
        return md.NONE
    for unit, size in (("MJ", 1e6), ("kJ", 1e3)):
        if joules >= size:
            return f"{joules / size:.1f} {unit}"
    return f"{joules:.0f} J"
