"""The one boundary to slurmrestd: HTTP requests carrying a JWT, their failures sorted into mso's
exception tree, and the check at connect that the server speaks Slurm 22.05's API.

    TransportError(transient=True)  slurmrestd unreachable (refused, reset, timed out): the
                                    watcher pauses the run, `mso run` resumes it
    TokenRefused(SchedulerError)    the token is missing, expired or refused: make a new one
    SchedulerError                  slurmrestd answered an error, or serves another API version

The token is read from its environment variable at each request and goes only into the
X-SLURM-USER-TOKEN header: no message, log line or file of mso ever holds it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import requests

from runner.declarations.models import SlurmApi
from runner.errors import SchedulerError, TransportError

VERSION = "v0.0.38"   # openapi/v0.0.38 and openapi/dbv0.0.38: what Slurm 22.05's slurmrestd serves
SLURM, SLURMDB = f"/slurm/{VERSION}", f"/slurmdb/{VERSION}"
TIMEOUT = 120.0       # a listing of many thousand jobs takes seconds
AUTH_FAILED = 1007    # SLURM_PROTOCOL_AUTHENTICATION_ERROR: slurmdbd refused the token
NOTHING_FOUND = 9003  # ESLURM_REST_EMPTY_RESULT: a slurmdb query that matched no job
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")   # `[Errno 111] Connection refused` in requests' text
_CHECK_NAME = "mso.connect-check"   # a job name no job has: the connect check's cheap query


class TokenRefused(SchedulerError):
    """slurmrestd's token is missing, expired or refused; the message says how to get one."""


def token_problem(token: str, now: float) -> str | None:
    """What is wrong with a JWT that can be told without asking (malformed, expired), or None.
    Only its claims are read, never its signature; the token itself is never in the answer."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return "is not a JWT (three dot-separated parts)"
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return "is not a JWT (its claims are unreadable)"
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, (int, float)) and exp <= now:
        when = datetime.fromtimestamp(exp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"expired at {when}"
    return None


def refused(var: str, user: str, why: str) -> TokenRefused:
    """The error for a bad token: what was wrong, and what to do."""
    return TokenRefused(f"slurmrestd token in ${var} {why}: make a new one on the cluster with "
                        f"`scontrol token username={user} lifespan=SECONDS` and put the value "
                        f"after SLURM_JWT= in ${var}, then run again")


def errors(body: Mapping[str, Any]) -> list[tuple[int, str]]:
    """slurmrestd's `errors` list as (number, text) pairs."""
    out = []
    for e in body.get("errors") or []:
        if isinstance(e, Mapping):
            text = "; ".join(str(e[k]) for k in ("error", "description", "source") if e.get(k))
            out.append((int(e.get("error_number", e.get("error_code", -1)) or -1), text))
    return out


def answer(status: int, text: str, what: str, auth: Callable[[str], TokenRefused]) -> dict:
    """A response's JSON body, or the error it stands for (`auth` makes a token's)."""
    if status in (401, 403):
        raise auth(f"was refused (HTTP {status})")
    if status == 404:
        raise SchedulerError(f"{what}: slurmrestd does not serve this (HTTP 404); mso needs the "
                             f"API of Slurm 22.05, openapi/{VERSION} and openapi/db{VERSION}")
    try:
        body = json.loads(text)
    except ValueError:
        raise SchedulerError(f"{what}: slurmrestd answered HTTP {status}, not JSON: "
                             f"{text.strip()[:200]!r}") from None
    if any(n == AUTH_FAILED for n, _ in errors(body)):
        raise auth("was refused (slurmdbd: Protocol authentication error)")
    return body if isinstance(body, dict) else {}


def failure(what: str, status: int, body: Mapping[str, Any]) -> SchedulerError:
    """A SchedulerError saying what slurmrestd said went wrong."""
    said = "; ".join(f"{t} ({n})" for n, t in errors(body)) or "no error given"
    hint = (" (slurmctld refuses an expired or revoked token this way too)"
            if any(n == -1 for n, _ in errors(body)) else "")
    return SchedulerError(f"{what}: slurmrestd answered HTTP {status}: {said}{hint}")


class RestClient:
    """Requests to one slurmrestd as one user, counted (`requests`); checked at the first one."""

    def __init__(self, api: SlurmApi, user: str | Callable[[], str], environ: Mapping[str, str] | None = None,
                 session: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.url, self.var, self._user = api.url.rstrip("/"), api.token.env, user
        self.environ, self.clock = environ, clock
        self.session = session
        self.requests = 0
        self.checked = False

    def call(self, method: str, path: str, ok: frozenset[int] = frozenset(), **kw: Any) -> dict:
        """One request's JSON body; an HTTP error whose slurm errors are all in `ok` is not one."""
        status, body = self.send(method, path, **kw)
        if status >= 400 and not (errors(body) and all(n in ok for n, _ in errors(body))):
            raise failure(f"{method} {path}", status, body)
        return body

    def send(self, method: str, path: str, **kw: Any) -> tuple[int, dict]:
        """One request's HTTP status and JSON body (the server checked at the first one)."""
        if not self.checked:
            self.connect()
        return self._send(method, path, **kw)

    def connect(self) -> None:
        """The token is there and unexpired, and both APIs mso speaks are served (slurmdbd's
        answer also tells whether the token was accepted)."""
        for path, plugin in ((f"{SLURMDB}/jobs", f"openapi/db{VERSION}"), (f"{SLURM}/ping", f"openapi/{VERSION}")):
            status, body = self._send("GET", path, params={"job_name": _CHECK_NAME} if "db" in plugin else None)
            served = ((body.get("meta") or {}).get("plugin") or {}).get("type")
            if served != plugin:
                raise SchedulerError(f"slurmrestd at {self.url} answers {path} with {served or 'no plugin'}, "
                                     f"not {plugin}: mso needs the API of Slurm 22.05 (start slurmrestd "
                                     f"with `-s openapi/{VERSION},openapi/db{VERSION}`)")
            if status >= 400 and any(n != NOTHING_FOUND for n, _ in errors(body)):
                raise failure(f"slurmrestd at {self.url}: GET {path}", status, body)
        self.checked = True

    @property
    def user(self) -> str:
        """The user the token is for (read when first needed: a dry run needs no credentials)."""
        if callable(self._user):
            self._user = self._user()
        return self._user

    def _send(self, method: str, path: str, **kw: Any) -> tuple[int, dict]:
        token = self._token()
        if self.session is None:
            self.session = requests.Session()
        headers = {"X-SLURM-USER-NAME": self.user, "X-SLURM-USER-TOKEN": token}
        try:
            resp = self.session.request(method, self.url + path, headers=headers, timeout=TIMEOUT, **kw)
        except (requests.ConnectionError, requests.Timeout) as exc:
            why = _ERRNO.findall(str(exc))
            raise TransportError(f"slurmrestd at {self.url} unreachable ({type(exc).__name__}"
                                 f"{': ' + why[-1] if why else ''})", transient=True) from None
        finally:
            self.requests += 1
        what = f"{method} {self.url}{path}"
        return resp.status_code, answer(resp.status_code, resp.text, what,
                                        lambda why: refused(self.var, self.user, why))

    def _token(self) -> str:
        env = os.environ if self.environ is None else self.environ
        token = env.get(self.var, "").strip()
        if not token:
            raise refused(self.var, self.user, "is not set")
        problem = token_problem(token, self.clock())
        if problem:
            raise refused(self.var, self.user, problem)
        return token
