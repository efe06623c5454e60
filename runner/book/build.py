"""Build the book: generate the docs folder, write the mkdocs config, run mkdocs in-process."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.book import config, generate, outside, shell
from runner.book.context import Context
from runner.declarations import repository
from runner.errors import BookError
from runner.results import mkdocs_yml, records

WORK = Path(".mso") / "book"
STAGING = "site"   # in WORK: what mkdocs builds (the catalogue), before the run pages join it
HTML = "html"      # in WORK: every outside page's HTML, by the hashes of its Markdown and shell


@dataclass
class Built:
    """What a build did, for the terminal and for --json."""

    docs: Path
    site: Path
    pages: int
    handwritten: int
    files: int
    runs: int
    warnings: list[str] = field(default_factory=list)
    generate_seconds: float = 0.0
    mkdocs_seconds: float = 0.0


def build(root: Path, site: Path | None = None, strict: bool = False) -> Built:
    """Generate the pages of the repository at `root` and build the site (default root/site)."""
    root = root.resolve()
    site = (site or root / "site").resolve()
    _check_site(root, site)
    started = time.monotonic()
    repo = repository.load_valid(root)
    runs, warnings = records.load(root / "results")
    user = mkdocs_yml.read(root)
    ctx = Context(repo, runs, config.site_name(user))
    gen = generate.write(ctx, root / WORK / "docs", config.handwritten_folder(root, user))
    cfg_file = config.write(root, user, gen, site, strict, root / WORK / "mkdocs.yml")
    built = Built(gen.docs, site, len(gen.pages), len(gen.handwritten), gen.files,
                  sum(len(r) for r in runs.values()), warnings,
                  generate_seconds=time.monotonic() - started)
    if strict and warnings:
        raise BookError("the book has problems (--strict):\n" + _indented(warnings))
    started = time.monotonic()
    staging = root / WORK / STAGING
    messages, cfg = run_mkdocs(cfg_file, strict, site_dir=str(staging),
                               exclude_docs=_excluded(user, gen))
    built.warnings += messages
    converter = shell.Converter(list(cfg["markdown_extensions"]), dict(cfg["mdx_configs"]),
                                bool(cfg["use_directory_urls"]))
    rendered = outside.render(gen.outside, staging, converter, root / WORK / HTML)
    outside.assemble(site, staging, rendered, gen.outside)
    built.mkdocs_seconds = time.monotonic() - started
    return built


def _excluded(user: dict, gen: generate.Generated) -> str:
    """mkdocs.yml's exclude_docs, and the pages rendered outside mkdocs' page loop."""
    mine = user.get("exclude_docs")
    return (f"{mine.rstrip()}\n" if isinstance(mine, str) and mine.strip() else "") \
        + "".join(line + "\n" for line in generate.excluded(gen))


def _check_site(root: Path, site: Path) -> None:
    """Refuse a site folder whose cleaning (mkdocs empties it) would delete anything else."""
    if root.is_relative_to(site) or any(site.is_relative_to(root / f) for f in (
            *repository.FOLDERS.values(), "results", "book", "runner", ".git")):
        raise BookError(f"--site {site}: that folder holds the repository's files; "
                        "choose an empty or new folder")
    if site.is_dir() and any(site.iterdir()) and not (site / "index.html").is_file():
        raise BookError(f"--site {site}: not empty and not a site built before; mkdocs would "
                        "delete its contents (choose an empty or new folder)")


class _Collect(logging.Handler):
    """Keeps mkdocs' warnings and errors instead of letting them print."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the message, with its level."""
        self.messages.append(f"{record.levelname.lower()}: {record.getMessage()}")


def run_mkdocs(cfg_file: Path, strict: bool, **options: str) -> tuple[list[str], Any]:
    """Run `mkdocs build` with this config (and `options` over it); its warnings (fatal with
    strict) and the config it built with."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    logger, collect = logging.getLogger("mkdocs"), _Collect()
    propagate = logger.propagate
    logger.addHandler(collect)
    logger.propagate = False
    try:
        cfg = load_config(str(cfg_file), strict=strict, **options)
        mkdocs_build(cfg)
    except (MkDocsException, OSError) as exc:
        detail = _indented(collect.messages) if collect.messages else ""
        raise BookError(f"mkdocs build failed: {exc}" + (f"\n{detail}" if detail else "")) from None
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate
    return collect.messages, cfg


def _indented(lines: list[str]) -> str:
    return "\n".join("  " + line for line in lines)
