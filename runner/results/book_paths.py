"""Where the book puts each page (docs paths): its own links and mso's notes use the same."""

from __future__ import annotations


def application_page(name: str) -> str:
    """The page of an application."""
    return f"applications/{name}.md"


def dataset_page(name: str) -> str:
    """The page of a dataset."""
    return f"datasets/{name}.md"


def infrastructure_page(name: str) -> str:
    """The page of an infrastructure."""
    return f"infrastructures/{name}.md"


def experiment_page(name: str) -> str:
    """The page of an experiment."""
    return f"experiments/{name}.md"


def run_folder(experiment: str, run_id: str) -> str:
    """The docs folder of a run: its page and the files it links."""
    return f"runs/{experiment}/{run_id}"


def run_page(experiment: str, run_id: str) -> str:
    """The page of a run."""
    return f"{run_folder(experiment, run_id)}/index.md"
