"""A small client of the OCI distribution API (v2): does a manifest exist, and what is its digest.

Authentication is the registries' own dance: a request without credentials; on a 401, Basic
credentials, or (`WWW-Authenticate: Bearer realm=...,service=...,scope=...`, as GitLab's registry
answers) a token fetched from the realm with Basic credentials, then the request again. TLS is
always verified; requests reads REQUESTS_CA_BUNDLE for a private CA. Connection errors, 5xx and
429 are retried with backoff; a 401 or 403 after authenticating fails at once, naming the
variables to check. Credentials and tokens appear in no message.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

import requests
from requests.utils import parse_dict_header
from tenacity import (RetryError, Retrying, retry_if_exception_type, stop_after_attempt,
                      wait_exponential)

from runner.containers.access import Access
from runner.containers.reference import Reference
from runner.errors import ContainerError
from runner.words import plural

MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
API_HOSTS = {"docker.io": "registry-1.docker.io"}   # where Docker Hub's API answers
TIMEOUT = 30


class AuthRequired(ContainerError):
    """The registry wants credentials and none are set (a fork's merge request)."""


class _Transient(Exception):
    """A failure worth another try: no connection, a 5xx, a 429."""


@dataclass(frozen=True)
class Retry:
    """How often and how patiently to retry (MSO_REGISTRY_ATTEMPTS overrides the attempts)."""

    attempts: int = 5
    first_wait: float = 1.0
    max_wait: float = 15.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Retry":
        raw = (os.environ if environ is None else environ).get("MSO_REGISTRY_ATTEMPTS", "")
        return cls(attempts=max(1, int(raw))) if raw.isdigit() else cls()


class Registry:
    """One registry host, one HTTP session, tokens kept per scope for this process only."""

    def __init__(self, host: str, access: Access, retry: Retry | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.host, self.access = host, access
        self.retry = retry or Retry.from_env(environ)
        self._environ = environ
        self._session = requests.Session()
        self._basic = False                  # the registry asked for Basic: send it at once
        self._tokens: dict[str, str] = {}    # scope -> bearer token

    def close(self) -> None:
        self._session.close()

    def digest(self, ref: Reference) -> str | None:
        """The manifest digest of `ref` (a tag or digest), or None when the registry lacks it."""
        path = f"/v2/{ref.repository}/manifests/{ref.target}"
        res = self._request("HEAD", path, ref, {"Accept": MANIFEST_TYPES})
        if res.status_code == 404:
            return None
        found = res.headers.get("Docker-Content-Digest")
        if not found:   # a registry need not send it on HEAD: hash the manifest itself
            res = self._request("GET", path, ref, {"Accept": MANIFEST_TYPES})
            found = "sha256:" + hashlib.sha256(res.content).hexdigest()
        return found

    def tags(self, ref: Reference) -> list[str]:
        """Every tag of `ref`'s repository (none when the repository does not exist)."""
        res = self._request("GET", f"/v2/{ref.repository}/tags/list", ref, {})
        return [] if res.status_code == 404 else sorted(res.json().get("tags") or [])

    # --- requests, retried -----------------------------------------------------------------

    def _request(self, method: str, path: str, ref: Reference,
                 headers: dict[str, str]) -> requests.Response:
        """One API call, retried while the failure is transient; 200 or 404 come back."""
        try:
            for attempt in Retrying(stop=stop_after_attempt(self.retry.attempts),
                                    wait=wait_exponential(multiplier=self.retry.first_wait,
                                                          max=self.retry.max_wait),
                                    retry=retry_if_exception_type(_Transient), reraise=False):
                with attempt:
                    return self._authorized(method, path, ref, headers)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise ContainerError(f"registry {self.host} did not answer after "
                                 f"{plural(self.retry.attempts, 'attempt')}: {cause} (is it up? "
                                 "MSO_REGISTRY_ATTEMPTS sets the attempts)") from None
        raise AssertionError("unreachable")

    def _authorized(self, method: str, path: str, ref: Reference,
                    headers: dict[str, str]) -> requests.Response:
        """The call, authenticating once if the registry asks; refusals fail at once."""
        scope = f"repository:{ref.repository}:pull"
        res = self._send(method, path, {**headers, **self._auth_header(scope)})
        if res.status_code == 401:
            self._authenticate(res.headers.get("WWW-Authenticate", ""), scope)
            res = self._send(method, path, {**headers, **self._auth_header(scope)})
        if res.status_code in (401, 403):
            raise self._refused(res.status_code, ref)
        if res.status_code not in (200, 404):
            raise ContainerError(f"registry {self.host} answered {res.status_code} to "
                                 f"{method} {path}: {res.text.strip()[:200]}")
        return res

    def _send(self, method: str, path: str, headers: dict[str, str]) -> requests.Response:
        url = f"https://{API_HOSTS.get(self.host, self.host)}{path}"
        try:
            res = self._session.request(method, url, headers=headers, timeout=TIMEOUT,
                                        allow_redirects=True)
        except requests.exceptions.SSLError as exc:
            raise ContainerError(f"registry {self.host}: its TLS certificate is not trusted "
                                 f"({_short(exc)}); point REQUESTS_CA_BUNDLE at a bundle "
                                 "holding its CA") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(_short(exc)) from None
        if res.status_code >= 500 or res.status_code == 429:
            raise _Transient(f"HTTP {res.status_code}")
        return res

    # --- authentication ----------------------------------------------------------------------

    def _auth_header(self, scope: str) -> dict[str, str]:
        if scope in self._tokens:
            return {"Authorization": f"Bearer {self._tokens[scope]}"}
        creds = self.access.credentials(self._environ)
        if self._basic and creds:
            pair = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        return {}

    def _authenticate(self, challenge: str, scope: str) -> None:
        """Answer a 401's challenge: remember Basic, or fetch a Bearer token for `scope`."""
        scheme, _, params = challenge.partition(" ")
        creds = self.access.credentials(self._environ)
        if scheme.lower() == "basic":
            if not creds:
                raise self._missing()
            self._basic = True
        elif scheme.lower() == "bearer":
            self._tokens[scope] = self._token(parse_dict_header(params), scope, creds)
        else:
            raise ContainerError(f"registry {self.host} asks for {scheme or 'an unknown'} "
                                 "authentication, which mso does not speak (Basic or Bearer)")

    def _token(self, challenge: dict, scope: str, creds: tuple[str, str] | None) -> str:
        """A Bearer token from the challenge's realm (anonymous without credentials)."""
        realm = challenge.get("realm", "")
        if not realm.startswith("https://"):
            raise ContainerError(f"registry {self.host} sent a token realm that is not https: "
                                 f"{realm[:100]!r}")
        params = {"service": challenge.get("service", ""), "scope": challenge.get("scope", scope)}
        try:
            res = self._session.get(realm, params=params, auth=creds, timeout=TIMEOUT)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(_short(exc)) from None
        if res.status_code in (401, 403):
            raise self._missing() if not creds else self._refused(res.status_code, None)
        if res.status_code != 200:
            raise _Transient(f"token endpoint answered HTTP {res.status_code}")
        body = res.json()
        return body.get("token") or body.get("access_token") or ""

    def _missing(self) -> AuthRequired:
        return AuthRequired(f"registry {self.host} asks for credentials and none are set: "
                            f"set {self.access.variables()} ({self.access.source})")

    def _refused(self, status: int, ref: Reference | None) -> ContainerError:
        what = f" for {ref.name}" if ref else ""
        if not self.access.credentials(self._environ):
            return self._missing()
        return ContainerError(f"registry {self.host} refused the credentials{what} "
                              f"(HTTP {status}): check {self.access.variables()} "
                              f"({self.access.source})")


def _short(exc: Exception) -> str:
    """A requests error in one line, without the noise of urllib3's nesting."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for marker in ("Connection refused", "timed out", "Name or service not known",
                   "CERTIFICATE_VERIFY_FAILED", "Connection reset"):
        if marker in text:
            return marker
    return text[:200]
