"""The book: Markdown pages generated from the declarations and results/, built by mkdocs-material.

    build.py       the whole build: load, generate, configure, run mkdocs
    results.py     run records, checked against the run schema before they are trusted
    context.py     the repository and its runs; where each page lives
    markdown.py    escaping and formatting helpers (all user text goes through them)
    summary.py     figures about a run that several pages show
    schemainfo.py  JSON Schema nodes in words (types, bounds, fields)
    pages/         one module per kind of page
    generate.py    what the docs folder holds: generated, hand-written and result files
    sync.py        brings the docs folder up to date in place
    config.py      the mkdocs configuration, from the repository's mkdocs.yml
"""
