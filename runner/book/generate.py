"""Write the docs folder: generated pages, hand-written pages, and the result files they link."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from runner.book import badges, plots, runcache, shell, sync
from runner.book.context import Context, Page
from runner.book.pages import catalogue_pages, experiments
from runner.fsutil import inside

CSS = "assets/mso-book.css"
PLOTS = "plots"   # beside the docs folder: the SVG of every plot drawn, by content hash
RUNS = "runs"     # beside the docs folder: every run's page, by the hash of its inputs
STYLE = resources.files("runner.book") / "templates" / "mso-book.css"


@dataclass(frozen=True)
class Generated:
    """What went into the docs folder."""

    docs: Path
    pages: tuple[str, ...]          # generated pages (merged ones included)
    handwritten: tuple[str, ...]    # files copied from the hand-written folder
    files: int                      # result files the run pages link
    outside: tuple[runcache.OutsidePage, ...] = ()   # run and experiment pages (outside.py)


def write(ctx: Context, docs: Path, handwritten: Path | None) -> Generated:
    """Make `docs` the docs folder of the book (only changed files are rewritten)."""
    pages = {p.path: p for p in catalogue_pages(ctx)}
    runs = runcache.pages(ctx, docs.parent / RUNS, docs.parent / PLOTS)
    manual = hand_written(handwritten)
    copies = {dest: src for p in pages.values() for dest, src in p.files}
    wanted: dict[str, sync.Content] = {}
    for rel, src in manual.items():
        wanted[rel] = (merge(src.read_text("utf-8", errors="replace"), pages[rel]).encode("utf-8")
                       if rel in pages else src)
    for rel, page in pages.items():
        wanted.setdefault(rel, page.text().encode("utf-8"))
    outside = [*runs, *(_outside(docs, rel, wanted[rel], pages[rel]) for rel in pages if is_outside(rel))]
    for page in outside:
        wanted[shell.placeholder(page.path, page.searchable)] = \
            shell.markdown_of(page.searchable).encode("utf-8")
    for run in runs:   # the page only (for mkdocs' link checks): its files go to the site alone
        wanted[run.path] = run.markdown
        wanted.update({plots.path_of(k): plots.cached_svg(docs.parent / PLOTS, k) for k in run.svgs})
    wanted.update(copies)
    drawn = plots.render_all((p for page in pages.values() for p in page.plots), docs.parent / PLOTS)
    wanted.update({plots.path_of(key): svg for key, svg in drawn.items()})
    wanted.update(badges.files(ctx))
    wanted[CSS] = STYLE.read_bytes()
    sync.sync(docs, wanted)
    runcache.prune(docs.parent / RUNS, {r.key for r in runs})
    return Generated(docs, tuple(sorted([*pages, *(r.path for r in runs)])), tuple(sorted(manual)),
                     len(copies) + sum(len(r.files) for r in runs), tuple(outside))


def is_outside(path: str) -> bool:
    """Whether a generated page is rendered outside mkdocs' page loop: every experiment page and
    archive (there are as many as experiments, and most are the same as last time)."""
    if not path.startswith("experiments/") or path == experiments.INDEX:
        return False
    depth = path.count("/")   # as excluded() matches them: experiments/*.md, experiments/*/archive.md
    return depth == 1 or depth == 2 and path.endswith("/archive.md")


def excluded(gen: Generated) -> list[str]:
    """mkdocs' exclude_docs lines that leave the outside pages out of its loop (as patterns: a
    line per page would cost a match per page per file), hand-written pages they catch put back."""
    outside = {p.path for p in gen.outside}
    back = [f"!/{rel}" for rel in gen.handwritten if rel.endswith(".md") and is_outside(rel)
            and rel not in outside]
    shells = sorted({f"!/{shell.placeholder(p.path, p.searchable)}" for p in gen.outside})
    return ["/runs/*/", "/experiments/*.md", "!/" + experiments.INDEX, "/experiments/*/archive.md",
            *shells, *back]


def _outside(docs: Path, rel: str, text: sync.Content, page: Page) -> runcache.OutsidePage:
    """An experiment page as the outside renderer takes it: its Markdown is the docs file."""
    data = text if isinstance(text, bytes) else text.read_bytes()
    key = hashlib.sha256(rel.encode() + b"\0" + data).hexdigest()[:32]
    return runcache.OutsidePage(rel, key, docs / rel, searchable=page.searchable)


def hand_written(folder: Path | None) -> dict[str, Path]:
    """The hand-written files (docs path -> file), without dotfiles or links leading outside."""
    if folder is None or not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not any(p.startswith(".") for p in rel.split("/")) \
                and inside(path, folder):
            found[rel] = path
    return found


def merge(text: str, page: Page) -> str:
    """A hand-written page with the generated body of the same page after it."""
    return f"{text.rstrip()}\n\n{page.body.strip()}\n"
