"""Reading the built book as a person would, at 1280x900 in headless Chromium: no page type widens
the page (wide tables scroll inside their own box), every internal link of the whole site leads to
a file, the search finds an experiment by a word of its description, and the Help page asks on the
project's own issue tracker."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.book import probe
from tests.book.portal import LONG_RUN, OWNED, PROJECT_URL, portal  # noqa: F401 - the fixture

PAGES = ["index.html", "usage.html", "help.html", "experiments/heat-sweep.html",
         f"runs/heat-sweep/{LONG_RUN}/index.html", "datasets/gaussian-bump.html",
         f"datasets/{OWNED}.html", "experiments/index.html"]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v for k, v in attrs if k in ("href", "src") and v]


def _broken(site: Path, page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text("utf-8"))
    bad = []
    for link in parser.found:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or not parts.path:   # elsewhere, or this page's anchor
            continue
        # 404.html names its files from the site's root (served at the root, as on Pages)
        where = site if parts.path.startswith("/") else page.parent
        target = (where / unquote(parts.path).lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or site.resolve() not in target.parents:
            bad.append(link)
    return bad


@pytest.mark.integration
def test_no_page_type_overflows_at_1280(chromium: str, portal: Path,  # noqa: F811
                                        tmp_path: Path) -> None:
    site = portal / "site"
    long_page = (site / PAGES[4]).read_text()
    assert "sbatch-error-xxxx" in long_page and "long-yyyy" in long_page   # the wide content is there
    with probe.served(site) as base:
        found = probe.run(chromium, site, base, [{"url": p} for p in PAGES], tmp_path / "profile")
    assert [f["url"] for f in found] == PAGES
    for page in found:
        assert 0 < page["view"] <= probe.VIEW_WIDTH, page
        assert page["scrollWidth"] <= page["view"], page["url"]
        assert page["bodyScrollWidth"] <= page["view"], page["url"]
        assert page["clipped"] == [], page["url"]
        assert page["tables"] or page["url"] == "help.html", f"{page['url']}: no table measured"
        for box in page["tables"]:
            assert box["right"] <= page["view"], page["url"]   # each table's box fits the view
    run_tables = found[4]["tables"]
    assert max(t["scroll"] for t in run_tables) < 2 * probe.VIEW_WIDTH   # long words wrap


@pytest.mark.integration
def test_every_internal_link_of_the_site_leads_to_a_file(portal: Path) -> None:  # noqa: F811
    site = portal / "site"
    pages = sorted(p for p in site.rglob("*.html") if p.name != probe.HARNESS)
    assert len(pages) > 30
    broken = {p.relative_to(site).as_posix(): b for p in pages if (b := _broken(site, p))}
    assert broken == {}


@pytest.mark.integration
def test_search_finds_an_experiment_by_a_word_of_its_description(chromium: str,  # noqa: F811
                                                                 portal: Path,
                                                                 tmp_path: Path) -> None:
    site = portal / "site"
    with probe.served(site) as base:
        [found] = probe.run(chromium, site, base, [{"url": "index.html", "search": "diffusivity"}],
                            tmp_path / "profile")
    hits = [r["href"].split("?")[0].removeprefix(base + "/") for r in found["results"]]
    assert "experiments/heat-sweep.html" in hits, found


def test_help_asks_on_the_projects_issue_tracker(portal: Path) -> None:  # noqa: F811
    page = (portal / "site/help.html").read_text()
    assert f'href="{PROJECT_URL}/-/issues/new?issuable_template=question"' in page
    assert "Ask a question" in page and "Why did my task not run again?" in page
    nav = (portal / "site/index.html").read_text().split('md-nav--primary', 1)[1]
    assert 'href="help.html"' in nav


def test_a_private_datasets_page_names_its_owners(portal: Path) -> None:  # noqa: F811
    page = (portal / f".mso/book/docs/datasets/{OWNED}.md").read_text()
    assert "Access: ask its owners: ana, bob." in page
    other = (portal / ".mso/book/docs/datasets/secret-field.md").read_text()
    assert "it names no owners: ask the maintainers of this repository." in other
