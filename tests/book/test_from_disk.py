"""The built book opened from disk: site/index.html in headless Chromium, through file:// URLs.

Every link of the navigation, and the links people follow most (an experiment, one of its runs,
a task and its log, a dataset), lead to a page of the book: never a folder's listing (what
Chromium shows for a file:// folder) and never a missing file. A link is followed as a click
follows it: its href, as the page's DOM has it after the theme's scripts ran, resolved against
the page's own URL. A book built with `use_directory_urls: true` is shown to fail the same check.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import pytest

from tests.book.browser import browser
from tests.book.conftest import copy_repo
from tests.conftest import mso

SITE_NAME = "mso laboratory book"
NAV_CLASSES = ("md-nav__link", "md-header__button", "md-footer__link")


class _Anchors(HTMLParser):
    """Every <a href> of a page: (href, its classes, its text)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self._open: list[list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self._open = [a["href"] or "", a.get("class") or "", ""]

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.found.append((self._open[0], self._open[1], self._open[2].strip()))
            self._open = None


def anchors(dom: str) -> list[tuple[str, str, str]]:
    parser = _Anchors()
    parser.feed(dom)
    return parser.found


class Visitor:
    """Loads file:// URLs in Chromium and checks that each is a page of the book."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.binary, self.profile, self.seen = binary, profile, 0

    def dom(self, url: str) -> str:
        done = browser(self.binary, self.profile, "--dump-dom", url)
        self.seen += 1
        assert done.returncode == 0, f"{url}: {done.stderr[-2000:]}"
        return done.stdout

    def page(self, url: str) -> str:
        """The DOM at `url`, asserted to be a page of the book (not a listing, not an error)."""
        dom = self.dom(url)
        assert "Index of" not in dom and 'id="parentDirLinkBox"' not in dom, \
            f"{url}: a folder's listing, not a page"
        assert 'class="md-content"' in dom and f"{SITE_NAME}</title>" in dom, \
            f"{url}: not a page of the book:\n{dom[:1500]}"
        return dom


def nav_targets(url: str, dom: str) -> set[str]:
    """Where the navigation's links (sidebar, header, footer) of a page lead, without anchors."""
    return {urldefrag(urljoin(url, href))[0] for href, css, _ in anchors(dom)
            if any(c in css for c in NAV_CLASSES) and not href.startswith(("#", "http"))}


def follow(url: str, dom: str, text: str | None = None, contains: str = "") -> str:
    """The URL a click on the first link with this text (or whose href holds `contains`) opens."""
    for href, _, label in anchors(dom):
        if (text is None or label == text) and contains in href and not href.startswith("#"):
            return urljoin(url, href)
    raise AssertionError(f"{url}: no link {text!r} to *{contains}*")


@pytest.mark.integration
def test_every_nav_link_leads_to_a_page_when_opened_from_disk(chromium: str, built: Path,
                                                              tmp_path: Path) -> None:
    visit = Visitor(chromium, tmp_path / "profile")
    home = (built / "site" / "index.html").as_uri()
    home_dom = visit.page(home)
    targets = nav_targets(home, home_dom)
    assert len(targets) >= 20, sorted(targets)   # the guide, the sections, the reference
    for target in sorted(targets - {home}):
        assert target.startswith("file://"), target
        visit.page(target)

    experiments = follow(home, home_dom, "Experiments")
    exp_dom = visit.page(experiments)
    experiment = follow(experiments, exp_dom, "heat-sweep")
    [record] = (built / "results/heat-sweep").glob("*/run.json")
    run = json.loads(record.read_text())
    run_url = follow(experiment, visit.page(experiment), run["run_id"])
    run_dom = visit.page(run_url)
    assert f"Run {run['run_id']}" in run_dom
    # a page three folders down links the same navigation as the home page
    assert nav_targets(run_url, run_dom) == targets

    task = run["tasks"][0]["id"]
    anchor = follow(run_url, run_dom, contains=f"{task}/heat.log")
    assert f'id="{task}"' in run_dom and f'href="#{task}"' in run_dom
    log = visit.dom(anchor)
    assert "Index of" not in log
    assert (record.parent / task / "heat.log").read_text().splitlines()[0] in log
    dataset = follow(run_url, run_dom, "gaussian-bump")
    assert "gaussian-bump" in visit.page(dataset)
    print(f"{visit.seen} pages opened from disk")


@pytest.mark.integration
def test_directory_urls_would_show_a_listing_from_disk(chromium: str, built: Path,
                                                       tmp_path: Path) -> None:
    """The check above is not vacuous: with directory URLs, a nav link opens a folder listing."""
    repo = copy_repo(built, tmp_path / "repo")
    cfg = repo / "mkdocs.yml"
    cfg.write_text(cfg.read_text().replace("use_directory_urls: false", "use_directory_urls: true"))
    done = mso("book", "build", repo=repo)
    assert done.returncode == 0, done.stderr
    visit = Visitor(chromium, tmp_path / "profile")
    home = (repo / "site" / "index.html").as_uri()
    guide = follow(home, visit.page(home), contains="guide/book/")
    assert guide.endswith("/guide/book/")
    with pytest.raises(AssertionError, match="a folder's listing"):
        visit.page(guide)
