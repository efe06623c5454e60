"""The book: Markdown pages generated from the declarations and results/, built by mkdocs-material.

    build.py       the whole build: load, generate, configure, run mkdocs
    context.py     what page generators get (the repository and its runs) and give (a Page)
    history.py     the run history table that the home and experiment pages show
    schemainfo.py  JSON Schema nodes in words (types, bounds, fields)
    pages/         one module per kind of page
    generate.py    what the docs folder holds: generated, hand-written and result files
    sync.py        brings the docs folder up to date in place
    config.py      the mkdocs configuration, from the repository's mkdocs.yml
    badges.py      an SVG status badge per experiment

What the reports (runner/publish) show too lives one layer down, in runner/results: run records
and their files, run figures, page paths, the Markdown escapes and the reading of mkdocs.yml.
"""
