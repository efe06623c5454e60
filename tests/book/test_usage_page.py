"""The usage page's figures equal sums computed here, independently, from the run records on disk:
jobs, core time reserved and used per user and per infrastructure, the largest requests, runs per
month; short times in seconds and minutes; a plot of each, drawn into the site."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from pathlib import Path

from tests.book.portal import portal  # noqa: F401 - the fixture

SECTIONS = re.compile(r"^## (.+)$", re.M)


def _expected(results: Path) -> dict[str, dict[str, dict[str, float]]]:
    """Per user, infrastructure and month: runs, jobs, reserved and used core-seconds, largest."""
    out: dict[str, dict[str, dict[str, float]]] = {k: defaultdict(lambda: defaultdict(float))
                                                    for k in ("user", "infra", "month")}
    for path in sorted(results.glob("*/*/run.json")):
        rec = json.loads(path.read_text())
        keys = {"user": rec.get("triggered_by") or "unknown", "infra": rec["infrastructure"]["name"],
                "month": f"{rec['run_id'][:4]}-{rec['run_id'][4:6]}"}
        for kind, key in keys.items():
            row = out[kind][key]
            row["runs"] += 1
            for task in (t for t in rec["tasks"] if not t.get("reused")):
                _count(row, task)
    return out


def _count(row: dict[str, float], task: dict) -> None:
    asked, used = task.get("requested") or {}, task.get("usage") or {}
    wall = used.get("elapsed_s")
    if wall is None:
        times = [dt.datetime.fromisoformat(task[k].replace("Z", "+00:00")) for k in ("started", "ended")]
        wall = (times[1] - times[0]).total_seconds()
    row["jobs"] += 1
    row["reserved"] += (asked.get("cpus") or 1) * wall
    row["used"] += used.get("cpu_s", 0)
    row["cores"] = max(row["cores"], asked.get("cpus") or 1)
    row["memory_mb"] = max(row["memory_mb"], asked.get("memory_mb") or 0)


def _seconds(cell: str) -> tuple[float, float]:
    """A shown time back in seconds, with the precision it was shown at."""
    if cell == "—":
        return 0.0, 0.0
    if m := re.fullmatch(r"([\d,]+) h", cell):
        return float(m[1].replace(",", "")) * 3600, 1800
    if m := re.fullmatch(r"(\d+) h (\d+) min", cell):
        return int(m[1]) * 3600 + int(m[2]) * 60, 60
    if m := re.fullmatch(r"(\d+) min (\d+) s", cell):
        return int(m[1]) * 60 + int(m[2]), 1
    m = re.fullmatch(r"(\d+) s", cell)
    assert m, f"not a time: {cell!r}"
    return int(m[1]), 1


def _table(section: str) -> list[dict[str, str]]:
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
    return [dict(zip(head, r)) for r in rows]


def _sections(text: str) -> dict[str, str]:
    parts = SECTIONS.split(text)
    return {parts[i]: parts[i + 1].split("\n\n![")[0] for i in range(1, len(parts), 2)}


def _name(cell: str) -> str:
    return re.sub(r"^\[(.+?)\]\(.*\)$", r"\1", cell)


def _close(cell: str, want: float) -> None:
    got, precision = _seconds(cell)
    assert abs(got - want) <= precision, (cell, want)


def test_usage_figures_equal_sums_from_the_run_records(portal: Path) -> None:  # noqa: F811
    want = _expected(portal / "results")
    text = (portal / ".mso/book/docs/usage.md").read_text()
    parts = _sections(text)
    users = {_name(r["User"]): r for r in _table(parts["By user"])}
    assert set(users) == set(want["user"]) >= {"ana", "bob", "unknown"}
    for name, row in users.items():
        w = want["user"][name]
        assert (int(row["Runs"]), int(row["Jobs"])) == (w["runs"], w["jobs"]), name
        _close(row["Core time reserved"], w["reserved"])
        _close(row["Core time used"], w["used"])
        assert int(row["Most cores in a job"]) == w["cores"], name
    assert users["bob"]["Most memory in a job"] == "64.0 GiB"   # not the reused task's 999999 MB
    assert users["ana"]["Most memory in a job"] == "2.0 GiB"
    assert users["bob"]["Most cores in a job"] == "16"
    infras = {_name(r["Infrastructure"]): r for r in _table(parts["By infrastructure"])}
    assert set(infras) == set(want["infra"])
    for name, row in infras.items():
        assert int(row["Jobs"]) == want["infra"][name]["jobs"], name
        _close(row["Core time reserved"], want["infra"][name]["reserved"])
        _close(row["Core time used"], want["infra"][name]["used"])
    months = {r["Month (UTC)"]: int(r["Runs"]) for r in _table(parts["By month"])}
    assert months == {k: v["runs"] for k, v in want["month"].items()}
    tables = "".join(parts.values())   # the figures for people (a plot's data table is in its unit)
    assert "0.00" not in tables and "h" not in users["unknown"]["Core time reserved"]


def test_short_figures_are_seconds_and_every_plot_is_drawn(portal: Path) -> None:  # noqa: F811
    text = (portal / ".mso/book/docs/usage.md").read_text()
    ana = next(r for r in _table(_sections(text)["By user"]) if r["User"] == "ana")
    assert ana["Core time reserved"] == "6 h 03 min"   # 3 x 4 cores x 30 min, 2 x 90 s
    titles = re.findall(r"^!\[(.+?):", text, re.M)
    assert titles == ["Jobs per user", "Core time reserved and used, per user",
                      "Most cores in one job, per user", "Most memory in one job, per user",
                      "Core time reserved and used, per infrastructure", "Runs per month"]
    page = (portal / "site/usage.html").read_text()
    svgs = re.findall(r'src="(assets/plots/[0-9a-f]+\.svg)"', page)
    assert len(svgs) == len(titles)
    for svg in svgs:
        assert (portal / "site" / svg).read_bytes().startswith(b"<?xml")
