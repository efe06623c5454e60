"""Write the docs folder: generated pages, hand-written pages, and the result files they link."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from runner.book import badges, plots, runcache, shell, sync
from runner.book.context import Context, Page
from runner.book.pages import catalogue_pages
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
    files: int                      # result files copied for the run pages
    runs: tuple[runcache.RunPage, ...] = ()   # run pages: rendered outside mkdocs' page loop


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
    wanted[shell.PATH] = shell.MARKDOWN.encode("utf-8")
    for run in runs:
        wanted[run.path] = run.markdown
        copies.update(run.files)
        wanted.update({plots.path_of(k): plots.cached_svg(docs.parent / PLOTS, k) for k in run.svgs})
    wanted.update(copies)
    drawn = plots.render_all((p for page in pages.values() for p in page.plots), docs.parent / PLOTS)
    wanted.update({plots.path_of(key): svg for key, svg in drawn.items()})
    wanted.update(badges.files(ctx))
    wanted[CSS] = STYLE.read_bytes()
    sync.sync(docs, wanted)
    runcache.prune(docs.parent / RUNS, {r.key for r in runs})
    return Generated(docs, tuple(sorted([*pages, *(r.path for r in runs)])),
                     tuple(sorted(manual)), len(copies), tuple(runs))


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
