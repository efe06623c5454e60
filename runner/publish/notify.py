"""Tell GitLab how a pipeline's runs go: one merge-request note updated in place and a commit
status `mso/<experiment>` per experiment, each sent only when what it says changed.

Outside a pipeline, or without a token, it says so in one line and sends nothing. A failing
GitLab costs one warning line (the HTTP status and what to check), never a run: 401 and 403 stop
all reporting, 404 stops that kind (note or statuses), anything else is tried again at the next
change. The token is read from one environment variable and never written anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from runner.errors import MsoError
from runner.publish import report
from runner.publish.report import Links
from runner.results import mkdocs_yml
from runner.results.book_paths import experiment_page
from runner.results.records import Run, run_of
from runner.state import RunRecord

DEFAULT_TOKEN_ENV = "MSO_GITLAB_TOKEN"
PIPELINE_VARS = ("CI_API_V4_URL", "CI_PROJECT_ID", "CI_COMMIT_SHA")
SKIPPED = "no merge-request note or commit statuses"


@dataclass(frozen=True)
class Pipeline:
    """The GitLab pipeline mso runs in, from GitLab's predefined CI variables."""

    api_url: str
    project: str
    sha: str
    ref: str | None = None
    mr_iid: int | None = None
    pipeline_id: str | None = None
    pipeline_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Pipeline":
        """Read CI_* variables (check PIPELINE_VARS are set first)."""
        iid = env.get("CI_MERGE_REQUEST_IID", "")
        return cls(env["CI_API_V4_URL"], env["CI_PROJECT_ID"], env["CI_COMMIT_SHA"],
                   env.get("CI_COMMIT_REF_NAME") or None, int(iid) if iid.isdigit() else None,
                   env.get("CI_PIPELINE_ID") or None, env.get("CI_PIPELINE_URL") or None)


@dataclass
class Outcome:
    """What one update did: the note ('created', 'updated', 'unchanged', 'skipped', 'failed')
    and the commit statuses sent (name -> state)."""

    note: str = "skipped"
    statuses: dict[str, str] = field(default_factory=dict)


class Notifier:
    """Reports runs to GitLab; does nothing remote when `client` is None."""

    def __init__(self, root: Path, say: Callable[[str], None], links: Links = Links(),
                 token_env: str = DEFAULT_TOKEN_ENV, pipeline: Pipeline | None = None,
                 client=None, skipped: str | None = None) -> None:
        self.results, self.say, self.links = Path(root) / "results", say, links
        self.token_env, self.pipeline, self.client = token_env, pipeline, client
        self.skipped = skipped                      # why nothing is sent, as said
        self.warnings: list[str] = []
        self._notes = pipeline is not None and pipeline.mr_iid is not None
        self._statuses = pipeline is not None
        self._sent_body: str | None = None
        self._sent_states: dict[str, str] = {}
        self._errors: dict[tuple, str] = {}           # first error lines, by what they depend on

    @classmethod
    def from_env(cls, root: Path, say: Callable[[str], None], token_env: str | None = None,
                 verbose: bool = True) -> "Notifier":
        """A notifier for the pipeline described by the environment (always returned);
        `verbose=False` says nothing when there is no pipeline at all (a run on a laptop)."""
        env, name = os.environ, token_env or DEFAULT_TOKEN_ENV
        links = Links(env.get("MSO_BOOK_URL") or env.get("CI_PAGES_URL") or None,
                      _directory_urls(Path(root)))
        missing = [v for v in PIPELINE_VARS if not env.get(v)]
        why = (f"not in a GitLab pipeline ({', '.join(missing)} not set)" if missing
               else None if env.get(name) else f"{name} is not set")
        if why:
            if verbose or len(missing) < len(PIPELINE_VARS):  # half a pipeline is worth a word
                say(f"gitlab: {why}; {SKIPPED}")
            return cls(root, say, links, name, skipped=why)
        pipeline = Pipeline.from_env(env)
        if pipeline.mr_iid is None:
            say("gitlab: not a merge-request pipeline (CI_MERGE_REQUEST_IID not set); "
                "commit statuses only")
        from runner.publish.gitlab import GitLab
        client = GitLab(pipeline.api_url, pipeline.project, env[name])
        return cls(root, say, links, name, pipeline, client)

    def update(self, records: Sequence[RunRecord], remarks: Sequence[str] = ()) -> Outcome:
        """Send what changed since the last update: the note, then each experiment's status."""
        outcome = Outcome()
        if self.client is None:
            return outcome
        runs = [Run(self.results / r.experiment / r.run_id, r) for r in records]
        if self._notes:
            outcome.note = self._send_note(runs, remarks)
            if outcome.note == "failed" and self._notes:
                return outcome   # GitLab is failing for now: one line per update is enough
        if self._statuses and self.client is not None:
            outcome.statuses = self._send_statuses(runs)
        return outcome

    def _send_note(self, runs: list[Run], remarks: Sequence[str]) -> str:
        from runner.publish.gitlab import GitLabError
        p = self.pipeline
        number = p.pipeline_id or p.sha[:12]
        rows = [report.row(run, self._first_error(run)) for run in runs]
        body = report.note(rows, report.marker(number), self.links, (number, p.pipeline_url),
                           remarks)
        if body == self._sent_body:
            return "unchanged"
        try:
            done = self.client.upsert_note(p.mr_iid, report.marker(number), body)
        except GitLabError as exc:
            self._failed(exc, "note")
            return "failed"
        self._sent_body = body
        return done

    def _send_statuses(self, runs: list[Run]) -> dict[str, str]:
        from runner.publish.gitlab import GitLabError
        latest: dict[str, Run] = {}
        for run in sorted(runs, key=lambda r: r.run_id):
            latest[run.experiment] = run
        sent = {}
        for experiment, run in sorted(latest.items()):
            name, state = f"mso/{experiment}", report.status(run.record)
            if self._sent_states.get(name) == state:
                continue
            try:
                self.client.set_status(self.pipeline.sha, name, state,
                                       self.links.url(experiment_page(experiment)),
                                       report.description(run), self.pipeline.ref)
            except GitLabError as exc:
                self._failed(exc, "statuses")
                if _transient(exc.status) or not self._statuses or self.client is None:
                    break   # the rest would fail alike; the next update sends them
                continue
            self._sent_states[name] = sent[name] = state
        return sent

    def _first_error(self, run: Run) -> str:
        """The run's first error line, read from its files only when its first failed task or
        its state changed (a failed task's logs are final)."""
        failed = next((t.id for t in run.record.tasks if t.state == "failed"), None)
        if failed is None and run.record.state not in ("failed", "cancelled"):
            return ""
        key = (run.run_id, run.record.state, run.record.reason, failed)
        if key not in self._errors:
            try:
                self._errors[key] = report.first_error(run_of(self.results, run.record))
            except OSError:   # files moved away meanwhile: the line is missing, not the note
                return ""
        return self._errors[key]

    def _failed(self, exc, kind: str) -> None:
        """One warning line; stop what cannot work (bad token, missing project or MR)."""
        if exc.status in (401, 403):
            self.client, after = None, "no more reporting to GitLab in this process"
        elif exc.status == 404 and kind == "note":
            self._notes, after = False, "no more notes in this process"
        elif exc.status == 404:
            self._statuses, after = False, "no more commit statuses in this process"
        else:
            after = "tried again at the next change"
        line = f"gitlab: warning: {exc}; {self._hint(exc.status, kind)}; {after}"
        if line not in self.warnings:
            self.warnings.append(line)
            self.say(line)

    def _hint(self, status: int | None, kind: str) -> str:
        project = self.pipeline.project if self.pipeline else "?"
        if status == 401:
            return f"check that {self.token_env} holds a valid, unexpired access token"
        if status == 403:
            return (f"check that the token in {self.token_env} has the `api` scope and at least "
                    f"the Developer role in project {project}")
        if status == 404:
            what = f" and merge request !{self.pipeline.mr_iid}" if kind == "note" else ""
            return f"check project {project} (CI_PROJECT_ID){what}, and that the token can see it"
        if status is None:
            return "check CI_API_V4_URL and the network"
        if _transient(status):
            return "GitLab is busy or failing (retried)"
        return "GitLab refused what was sent"


def _transient(status: int | None) -> bool:
    """Whether trying again later may help: GitLab unreachable, busy or failing."""
    return status is None or status == 429 or status >= 500


def _directory_urls(root: Path) -> bool:
    """mkdocs' use_directory_urls, as the book is built (pages at `x/` rather than `x.html`)."""
    try:
        return mkdocs_yml.directory_urls(mkdocs_yml.read(root))
    except MsoError:
        return False
