"""Status badges: an SVG per experiment in the site, saying the latest run's state, shown on the
experiment's page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from runner.book import badges

SVG = "{http://www.w3.org/2000/svg}"


def _texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()      # valid XML, or this raises
    assert root.tag == f"{SVG}svg"
    return [t.text for t in root.iter(f"{SVG}text")]


def test_each_experiment_has_a_badge_with_its_latest_state(built: Path) -> None:
    site = built / "site" / "badges"
    assert sorted(p.name for p in site.iterdir()) == ["heat-sweep-cluster.svg", "heat-sweep.svg",
                                                      "noisy.svg"]
    assert set(_texts(site / "heat-sweep.svg")) == {"heat-sweep", "succeeded"}
    assert set(_texts(site / "noisy.svg")) == {"noisy", "failed"}
    assert set(_texts(site / "heat-sweep-cluster.svg")) == {"heat-sweep-cluster", "no runs"}
    assert badges.COLORS["failed"].lower() in (site / "noisy.svg").read_text().lower()


def test_the_experiment_page_shows_its_badge_first(built: Path) -> None:
    page = (built / ".mso/book/docs/experiments/heat-sweep.md").read_text()
    assert page.splitlines()[2] == "![status of heat-sweep](../badges/heat-sweep.svg)"
    html = (built / "site/experiments/heat-sweep.html").read_text()
    assert '<img alt="status of heat-sweep" src="../badges/heat-sweep.svg"' in html


def test_badges_are_the_same_bytes_every_time() -> None:
    first = badges.svg("heat-sweep", "running")
    assert [badges.svg("other", "failed") for _ in range(3)][0] == badges.svg("other", "failed")
    assert badges.svg("heat-sweep", "running") == first
    assert 'id="mso-badge"' in first


def test_hostile_names_stay_text() -> None:
    texts = ET.fromstring(badges.svg("<x>&", "no runs").encode()).iter(f"{SVG}text")
    assert {t.text for t in texts} == {"<x>&", "no runs"}
