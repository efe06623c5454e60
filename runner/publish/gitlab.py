"""GitLab's REST API for one merge-request note, commit statuses and the state of a branch's merge
requests: the only module that imports python-gitlab.

Every failure becomes a GitLabError carrying the HTTP status (None when GitLab could not be
reached) and GitLab's own message, with the token masked out of it. Transient failures (429, 5xx,
timeouts, dropped connections) are retried by python-gitlab itself (retry_transient_errors) with
a short exponential backoff: 0.1, 0.2, 0.4 s, then the error.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit

from runner.errors import PublishError
from runner.secrets import MASK

MAX_RETRIES = 3      # python-gitlab's default is 10, up to 100 s of waiting per call
TIMEOUT = 20.0       # seconds per request
HARMLESS = "Cannot transition status"   # re-posting a pending or running status: already there


class GitLabError(PublishError):
    """A call to GitLab failed: `status` is the HTTP status, None when it was not reached."""

    def __init__(self, what: str, status: int | None, detail: str) -> None:
        self.what, self.status, self.detail = what, status, detail
        shown = f"HTTP {status}" if status else "GitLab not reached"
        super().__init__(f"{what}: {shown} ({detail})" if detail else f"{what}: {shown}")


@dataclass(frozen=True)
class MergeRequest:
    """A merge request as far as mso asks: its number in the project and its state."""

    iid: int
    state: str   # opened, closed, locked or merged


def base_url(api_url: str) -> str:
    """The server's URL from CI_API_V4_URL (python-gitlab adds /api/v4 itself)."""
    url = api_url.rstrip("/")
    return url[: -len("/api/v4")] if url.endswith("/api/v4") else url


class GitLab:
    """One project on one GitLab server, reached with a token (sent only as PRIVATE-TOKEN)."""

    def __init__(self, api_url: str, project: str, token: str, timeout: float = TIMEOUT) -> None:
        import gitlab   # imported here: nothing else in mso needs it loaded

        self._token = token
        self._gl = gitlab.Gitlab(base_url(api_url), private_token=token, timeout=timeout,
                                 retry_transient_errors=True)
        # lazy: no request until a note or status is sent (python-gitlab asks nothing first)
        self._project = self._gl.projects.get(project, lazy=True)
        self._notes: dict[tuple[int, str], int] = {}   # (mr iid, marker) -> note id

    def upsert_note(self, mr_iid: int, marker: str, body: str) -> str:
        """Update the merge request's note holding `marker`, else create it: 'updated' or
        'created'. The note's id is remembered, so only the first call lists the notes."""
        import gitlab

        notes = self._project.mergerequests.get(mr_iid, lazy=True).notes
        body = self._masked(body)
        with self._errors(f"merge request !{mr_iid}: note"):
            note_id = self._notes.get((mr_iid, marker)) or self._find(notes, marker)
            if note_id is not None:
                try:
                    notes.update(note_id, {"body": body}, max_retries=MAX_RETRIES)
                    self._notes[(mr_iid, marker)] = note_id
                    return "updated"
                except gitlab.GitlabError as exc:
                    if exc.response_code != 404:   # 404: someone deleted it; write it again
                        raise
            created = notes.create({"body": body}, max_retries=MAX_RETRIES)
            self._notes[(mr_iid, marker)] = created.id
            return "created"

    def set_status(self, sha: str, name: str, state: str, target_url: str | None = None,
                   description: str = "", ref: str | None = None) -> str:
        """Post the commit status `name`: 'sent', or 'unchanged' when GitLab already had it."""
        import gitlab

        data = {"state": state, "name": name, "description": self._masked(description)[:255]}
        if target_url:
            data["target_url"] = self._masked(target_url)
        if ref:
            data["ref"] = ref
        statuses = self._project.commits.get(sha, lazy=True).statuses
        with self._errors(f"commit status {name}"):
            try:
                statuses.create(data, max_retries=MAX_RETRIES)
            except gitlab.GitlabError as exc:
                if exc.response_code == 400 and HARMLESS in str(exc.error_message):
                    return "unchanged"
                raise
        return "sent"

    def merge_requests(self, branch: str) -> list[MergeRequest]:
        """The merge requests from `branch` of this project, in every state, newest first:
        GET /projects/:id/merge_requests?source_branch=BRANCH&state=all (docs.gitlab.com/api/
        merge_requests: state is opened, closed, locked or merged)."""
        with self._errors(f"merge requests of branch {branch}"):
            found = self._project.mergerequests.list(source_branch=branch, state="all",
                                                     iterator=True, max_retries=MAX_RETRIES)
            listed = [MergeRequest(int(mr.iid), str(mr.state)) for mr in found]
        return sorted(listed, key=lambda mr: mr.iid, reverse=True)

    def _find(self, notes, marker: str) -> int | None:
        """The id of the first note (newest first) whose body holds the marker."""
        for note in notes.list(iterator=True, max_retries=MAX_RETRIES):
            if not getattr(note, "system", False) and marker in (note.body or ""):
                return note.id
        return None

    def _masked(self, text: str) -> str:
        return text.replace(self._token, MASK) if self._token else text

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn python-gitlab's and requests' exceptions into one GitLabError, token-free."""
        import gitlab
        import requests

        try:
            yield
        except gitlab.GitlabError as exc:
            detail = self._masked(_text(exc.error_message))
            raise GitLabError(what, exc.response_code, detail) from None
        except requests.RequestException as exc:
            host = urlsplit(self._gl.url).netloc
            raise GitLabError(what, None, f"cannot reach {host}: {type(exc).__name__}") from None


def _text(message: object) -> str:
    """GitLab's error message (a string, or a map of field errors) on one short line."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return " ".join(text.split())[:200]
