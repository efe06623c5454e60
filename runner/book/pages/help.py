"""The Help page: where to ask a question (the project's new-issue page with the question
template, when the book is built in a pipeline) and the FAQ shipped with mso."""

from __future__ import annotations

import os
import re
from importlib import resources
from typing import Mapping

from runner.book.context import Context, Page

PATH = "help.md"
FAQ = resources.files("runner.book") / "templates" / "faq.md"
TEMPLATES = (("question", "Ask a question"), ("bug", "Report a bug"),
             ("new-application", "Propose a new application"))
_PROJECT_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~-]+)+")
UNKNOWN = ("This book was built outside a GitLab pipeline, so it does not know the project's "
           "address. To ask a question, open an issue in the project that holds this repository "
           "and choose the **question** template (the templates are in "
           "`.gitlab/issue_templates/`: question, bug, new-application).")


def page(ctx: Context, environ: Mapping[str, str] = os.environ) -> Page:
    """The Help page; the links come from the pipeline's CI_PROJECT_URL at build time."""
    base = project_url(environ)
    parts = ["Questions, bug reports and proposals are issues of the project that holds this "
             "repository, so the answer stays with the code and every reader can find it.",
             "## Ask", _links(base) if base else UNKNOWN,
             "## Frequently asked questions", FAQ.read_text("utf-8")]
    return Page(PATH, "Help", "\n\n".join(parts))


def project_url(environ: Mapping[str, str]) -> str | None:
    """The project's web address from CI_PROJECT_URL, if it is a plain http(s) one."""
    url = environ.get("CI_PROJECT_URL", "").strip().rstrip("/")
    return url if _PROJECT_URL.fullmatch(url) else None


def new_issue(base: str, template: str) -> str:
    """The project's new-issue page with an issue template chosen."""
    return f"{base}/-/issues/new?issuable_template={template}"


def _links(base: str) -> str:
    # base matched _PROJECT_URL (no spaces, quotes, brackets or parentheses): safe in a link
    items = [f"- [{label}]({new_issue(base, t)})" for t, label in TEMPLATES]
    return "\n".join([*items, f"- [Every issue so far]({base}/-/issues)"])
