"""results/ as the book and the reports (runner/publish) both read and show it.

    records.py     run records with the files beside them, checked before they are trusted
    summary.py     figures about a run from its record: task counts, start, wall time, task-hours
    task_logs.py   a task's classified application logs, their entries, and file tails
    book_paths.py  where the book puts each page, so notes link to the same places
    mkdocs_yml.py  the repository's mkdocs.yml, read one way
    markdown.py    escaping and formatting helpers (all user text goes through them)

It sits below book and publish (neither may import the other) and imports only runner.state,
runner.declarations, runner.logs and the base modules.
"""
