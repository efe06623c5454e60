"""A stand-in for the few GitLab REST API (v4) endpoints mso uses, written after GitLab's public
documentation, served by pytest-httpserver on 127.0.0.1.

    GET  /api/v4/projects/:id/merge_requests/:iid/notes            docs.gitlab.com/api/notes
    POST /api/v4/projects/:id/merge_requests/:iid/notes            (body) -> 201
    PUT  /api/v4/projects/:id/merge_requests/:iid/notes/:note_id   (body) -> 200
    POST /api/v4/projects/:id/statuses/:sha                        docs.gitlab.com/api/commits
         (state, name|context, ref, target_url, description)      -> 201
    GET  /api/v4/projects/:id/merge_requests                       docs.gitlab.com/api/merge_requests
         (source_branch, state: opened|closed|locked|merged|all; default all), newest first

python-gitlab asks nothing before these (its project and merge-request objects are lazy). Lists
are paginated as documented in docs.gitlab.com/api/rest (page, per_page: 20 by default, X-Page,
X-Total, X-Next-Page and a Link header). Every request needs the PRIVATE-TOKEN header: a wrong or
missing one gets 401 {"message": "401 Unauthorized"}; a `forbidden` stand-in answers 403 (a token
without the `api` scope). A commit status follows GitLab's state machine: a status still pending
or running with the same name and ref is moved on (enqueue, run, success, drop, cancel), so
posting the same pending or running state again is GitLab's 400 "Cannot transition status via
:run from :running"; after a finished one a new status is created. Every request is recorded
(method, path, query, headers without the token, body).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.recorded import Recorded  # noqa: F401 (recorded requests, shared by the stand-ins)

NOTES = re.compile(r"^/api/v4/projects/(?P<project>[^/]+)/merge_requests/(?P<iid>\d+)/notes$")
NOTE = re.compile(r"^/api/v4/projects/(?P<project>[^/]+)/merge_requests/(?P<iid>\d+)"
                  r"/notes/(?P<note>\d+)$")
MERGE_REQUESTS = re.compile(r"^/api/v4/projects/(?P<project>[^/]+)/merge_requests$")
STATUSES = re.compile(r"^/api/v4/projects/(?P<project>[^/]+)/statuses/(?P<sha>[0-9a-f]{7,40})$")
SECRET_HEADERS = {"private-token", "authorization", "job-token"}
STATES = ("pending", "running", "success", "failed", "canceled", "skipped")
# event -> (states it moves from, state it moves to), as GitLab's CommitStatus state machine
EVENTS = {"enqueue": ({"created", "skipped", "manual", "scheduled"}, "pending"),
          "run": ({"pending"}, "running"),
          "success": ({"created", "pending", "running"}, "success"),
          "drop": ({"created", "pending", "running", "manual", "scheduled"}, "failed"),
          "cancel": ({"created", "pending", "running", "manual", "scheduled"}, "canceled"),
          "skip": ({"created", "pending"}, "skipped")}
# what mso reads from a pipeline's environment: cleared so the machine's own never leak in
CI_VARS = ("CI_API_V4_URL", "CI_PROJECT_ID", "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME",
           "CI_MERGE_REQUEST_IID", "CI_PIPELINE_ID", "CI_PIPELINE_URL", "CI_PAGES_URL",
           "MSO_BOOK_URL", "MSO_GITLAB_TOKEN")
WHEN = "2026-01-01T00:00:00.000Z"
USER = {"id": 99, "username": "project_42_bot", "name": "mso bot", "state": "active"}


@dataclass
class GitLabStandIn:
    """The stand-in's state: notes per merge request, statuses, and every request."""

    token: str
    project: str = "42"
    merge_requests: set[int] = field(default_factory=lambda: {7})
    # what the merge-request list says of each: iid -> (source branch, state)
    merge_request_states: dict[int, tuple[str, str]] = field(
        default_factory=lambda: {7: ("feature", "opened")})
    forbidden: bool = False
    requests: list[Recorded] = field(default_factory=list)
    notes: dict[int, list[dict]] = field(default_factory=dict)
    statuses: list[dict] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)    # answered, in order, before the rest
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1001))

    def __post_init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)   # no access log lines
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    def __enter__(self) -> "GitLabStandIn":
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()

    @property
    def api_url(self) -> str:
        """What CI_API_V4_URL would be."""
        return self.server.url_for("/api/v4")

    def env(self, **extra: str) -> dict[str, str]:
        """GitLab's predefined variables for a merge-request pipeline on this stand-in."""
        return {"CI_API_V4_URL": self.api_url, "CI_PROJECT_ID": self.project,
                "CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
                "CI_COMMIT_REF_NAME": "feature", "CI_MERGE_REQUEST_IID": "7",
                "CI_PIPELINE_ID": "555", "CI_PIPELINE_URL": "https://gitlab.example/p/-/pipelines/555",
                **extra}

    def calls(self, method: str | None = None, kind: re.Pattern | None = None) -> list[Recorded]:
        """Recorded requests, by method and path pattern."""
        return [r for r in self.requests if (method is None or r.method == method)
                and (kind is None or kind.match(r.path))]

    def status_history(self, name: str) -> list[str]:
        """Every state the status `name` has been in, in order."""
        return [h["status"] for s in self.statuses if s["name"] == name for h in s["history"]]

    def handle(self, request: Request) -> Response:
        body = request.get_data(as_text=True)
        self.requests.append(Recorded(
            request.method, request.path, request.query_string.decode(),
            {k: v for k, v in request.headers.items() if k.lower() not in SECRET_HEADERS}, body))
        if request.headers.get("PRIVATE-TOKEN") != self.token:
            return _json({"message": "401 Unauthorized"}, 401)
        if self.forbidden:
            return _json({"message": "403 Forbidden"}, 403)
        if self.failures:
            code = self.failures.pop(0)
            return _json({"message": f"{code} stand-in failure"}, code)
        return self._route(request, _params(request, body))

    def _route(self, request: Request, params: dict) -> Response:
        for pattern, method, action in ((NOTES, "GET", self._list_notes),
                                        (NOTES, "POST", self._create_note),
                                        (NOTE, "PUT", self._update_note),
                                        (STATUSES, "POST", self._post_status),
                                        (MERGE_REQUESTS, "GET", self._list_merge_requests)):
            found = pattern.match(request.path)
            if found and request.method == method:
                if found["project"] != self.project:
                    return _json({"message": "404 Project Not Found"}, 404)
                return action(request, params, **found.groupdict())
        return _json({"error": "404 Not Found"}, 404)

    def _mr_notes(self, iid: str) -> list[dict] | None:
        return self.notes.setdefault(int(iid), []) if int(iid) in self.merge_requests else None

    def _list_notes(self, request: Request, params: dict, project: str, iid: str) -> Response:
        notes = self._mr_notes(iid)
        if notes is None:
            return _json({"message": "404 Not found"}, 404)
        ordered = sorted(notes, key=lambda n: n["id"], reverse=params.get("sort", "desc") == "desc")
        return _paginated(request, params, ordered)

    def _list_merge_requests(self, request: Request, params: dict, project: str) -> Response:
        wanted = params.get("state", "all")
        if wanted not in ("opened", "closed", "locked", "merged", "all"):
            return _json({"error": "state does not have a valid value"}, 400)
        found = [self._merge_request(iid, branch, state)
                 for iid, (branch, state) in sorted(self.merge_request_states.items(), reverse=True)
                 if params.get("source_branch") in (None, branch) and wanted in ("all", state)]
        return _paginated(request, params, found)

    def _merge_request(self, iid: int, branch: str, state: str) -> dict:
        """A merge request as the list answers it (the fields mso and python-gitlab touch,
        and enough of the rest to look like GitLab's)."""
        ended = WHEN if state in ("closed", "merged") else None
        return {"id": 3000 + iid, "iid": iid, "project_id": int(self.project),
                "title": f"change {iid}", "description": "", "state": state,
                "created_at": WHEN, "updated_at": WHEN,
                "merged_at": ended if state == "merged" else None,
                "closed_at": ended if state == "closed" else None,
                "target_branch": "main", "source_branch": branch,
                "source_project_id": int(self.project), "target_project_id": int(self.project),
                "author": USER, "draft": False, "sha": "0123456789abcdef0123456789abcdef01234567",
                "web_url": f"https://gitlab.example/p/-/merge_requests/{iid}"}

    def _create_note(self, request: Request, params: dict, project: str, iid: str) -> Response:
        notes = self._mr_notes(iid)
        if notes is None:
            return _json({"message": "404 Not found"}, 404)
        if not params.get("body"):
            return _json({"error": "body is missing"}, 400)
        note = {"id": next(self._ids), "type": None, "body": params["body"], "attachment": None,
                "author": USER, "created_at": WHEN, "updated_at": WHEN, "system": False,
                "noteable_id": 3000 + int(iid), "noteable_type": "MergeRequest",
                "project_id": int(self.project), "noteable_iid": int(iid), "resolvable": False,
                "confidential": False, "internal": False}
        notes.append(note)
        return _json(note, 201)

    def _update_note(self, request: Request, params: dict, project: str, iid: str,
                     note: str) -> Response:
        found = next((n for n in self._mr_notes(iid) or [] if n["id"] == int(note)), None)
        if found is None:
            return _json({"message": "404 Note Not Found"}, 404)
        if not params.get("body"):
            return _json({"error": "body is missing"}, 400)
        found["body"] = params["body"]
        return _json(found, 200)

    def _post_status(self, request: Request, params: dict, project: str, sha: str) -> Response:
        state = params.get("state")
        if state not in STATES:
            return _json({"error": "state does not have a valid value"}, 400)
        name = params.get("name") or params.get("context") or "default"
        ref = params.get("ref") or "main"
        status = next((s for s in reversed(self.statuses) if (s["sha"], s["name"], s["ref"])
                       == (sha, name, ref) and s["status"] in ("pending", "running")), None)
        if status is None:
            status = {"id": next(self._ids), "sha": sha, "ref": ref, "status": "created",
                      "name": name, "history": []}
            self.statuses.append(status)
        events = {"pending": ["enqueue"], "running": ["enqueue?", "run"], "success": ["success"],
                  "failed": ["drop"], "canceled": ["cancel"], "skipped": ["skip"]}[state]
        for event in events:
            sources, target = EVENTS[event.rstrip("?")]
            if status["status"] in sources:
                status["status"] = target
            elif not event.endswith("?"):   # GitLab's `enqueue` (no bang) may fail silently
                if status["status"] == "created":
                    self.statuses.remove(status)
                message = (f"Cannot transition status via :{event} from :{status['status']} "
                           f'(Reason(s): Status cannot transition via "{event}")')
                return _json({"message": message}, 400)
        status["history"].append({"status": status["status"]})
        status.update(target_url=params.get("target_url"), description=params.get("description"))
        shown = {k: v for k, v in status.items() if k != "history"}
        return _json({**shown, "created_at": WHEN, "started_at": None, "finished_at": None,
                      "allow_failure": False, "coverage": None, "author": USER}, 201)


def _paginated(request: Request, params: dict, items: list) -> Response:
    """One page of a list, with GitLab's X-* headers and Link (docs.gitlab.com/api/rest)."""
    page, per_page = int(params.get("page", 1)), min(int(params.get("per_page", 20)), 100)
    pages = max(1, -(-len(items) // per_page))
    headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items)),
               "X-Total-Pages": str(pages), "X-Next-Page": str(page + 1) if page < pages else "",
               "X-Prev-Page": str(page - 1) if page > 1 else ""}
    kept = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    url = f"{request.base_url}?{urlencode({**kept, 'per_page': per_page})}&page="
    links = [f'<{url}{page + 1}>; rel="next"'] if page < pages else []
    links += [f'<{url}1>; rel="first"', f'<{url}{pages}>; rel="last"']
    headers["Link"] = ", ".join(links)
    return _json(items[(page - 1) * per_page: page * per_page], 200, headers)


def _params(request: Request, body: str) -> dict:
    """Query, form and JSON parameters together, as GitLab's API (Grape) reads them."""
    params = dict(request.args)
    if request.is_json and body:
        params.update(json.loads(body))
    else:
        params.update(request.form)
    return params


def _json(data: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers,
                    content_type="application/json")
