"""mso: a GitOps experiment runner for scientific computing.

The package is in layers, top to bottom; a module imports only from its own package and from
layers below it, never above (import-linter checks it: the contract in pyproject.toml).

    cli                 the `mso` command and its one error boundary (error_handler)
    commands            one module per verb
    publish | book      results back to git and GitLab | the book; neither imports the other:
                        what both read is in `results`, below
    monitor             the watcher: starts what is ready, asks each scheduler once per poll
    runs                a run in progress: create, resume, its one lifecycle, completion
    staging             work areas on hosts, stage-in of datasets, collection of outputs
    schedulers          one narrow backend per kind, the job wrapper, the Context that holds a
                        command's transports, schedulers and secret set
    results             reading results/: run records and their files, summaries, the book's
                        page paths, Markdown escapes (for the note, the statuses and the book)
    plan | logs         experiments resolved into frozen task plans | log-line classification
    declarations        YAML with line numbers, JSON Schemas, frozen records, cross-references
    transports          run commands and move files on a host (local, ssh); plain settings only
    base                errors, state, fsutil, hashing, secrets, junit, gitinfo, failpoints

Schedulers sit above the plan because they turn a planned task into a job script; nothing in the
plan needs a scheduler. Transports sit below the declarations: they take plain connection
settings, and the Context maps an infrastructure's declaration onto them.
"""

__version__ = "0.1.0"
