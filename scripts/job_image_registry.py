"""The registry side of scripts/build-job-image: an image's digest (mso's registry client), and the
completion of a pushed config that lacks labels, user or working directory (ch-image 0.31 pushes
only Env and history): a new config blob and a manifest under the same tag, through the OCI
distribution API, with Basic or a push-scoped Bearer token from CI_REGISTRY_USER/PASSWORD."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlsplit

import requests
from requests.utils import parse_dict_header

from runner.containers.access import GITLAB_PASSWORD, GITLAB_USER, Access
from runner.containers.reference import Reference
from runner.containers.registry import Registry
from runner.errors import MsoError

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class Pushed:
    """The pushed image's manifest and config, read and rewritten through the registry API."""

    def __init__(self, ref: Reference, creds: tuple[str, str] | None) -> None:
        self.ref, self.creds, self.http, self.token = ref, creds, requests.Session(), ""
        self.base = f"https://{ref.registry}/v2/{ref.repository}"

    def call(self, method: str, url: str, **kw) -> requests.Response:
        """One request; on a 401, Basic or a push-scoped Bearer token, then once more."""
        headers = kw.pop("headers", {})
        res = self.http.request(method, url, timeout=120, headers=self._auth(headers), **kw)
        if res.status_code == 401:
            scheme, _, params = res.headers.get("WWW-Authenticate", "").partition(" ")
            if scheme.lower() == "bearer":
                self.token = self._token(parse_dict_header(params))
            elif self.creds:
                self.http.auth = self.creds
            res = self.http.request(method, url, timeout=120, headers=self._auth(headers), **kw)
        if res.status_code >= 300:
            raise MsoError(f"registry {self.ref.registry}: {method} {urlsplit(url).path} answered "
                           f"{res.status_code}: {res.text.strip()[:200]} (check {GITLAB_USER} and "
                           f"{GITLAB_PASSWORD})")
        return res

    def _auth(self, headers: dict) -> dict:
        return {**headers, "Authorization": f"Bearer {self.token}"} if self.token else headers

    def _token(self, challenge: dict) -> str:
        scope = f"repository:{self.ref.repository}:pull,push"
        res = self.http.get(challenge.get("realm", ""), auth=self.creds, timeout=60,
                            params={"service": challenge.get("service", ""), "scope": scope})
        if res.status_code != 200:
            raise MsoError(f"registry {self.ref.registry}: no push token (HTTP {res.status_code}): "
                           f"check {GITLAB_USER} and {GITLAB_PASSWORD}")
        return res.json().get("token") or res.json().get("access_token") or ""

    def complete(self, meant: dict) -> bool:
        """Put what the config lacks of `meant` into it; False when nothing was missing."""
        accept = {"Accept": f"{MANIFEST}, {OCI_MANIFEST}"}
        manifest = self.call("GET", f"{self.base}/manifests/{self.ref.tag}", headers=accept).json()
        config = self.call("GET", f"{self.base}/blobs/{manifest['config']['digest']}").json()
        inner = config.setdefault("config", {})
        labels = {**(inner.get("Labels") or {}), **meant["Labels"]}
        wanted = {**inner, **{k: v for k, v in meant.items() if v}, "Labels": labels}
        if wanted == inner:
            return False
        config["config"] = wanted
        body = json.dumps(config, indent=2).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        upload = self.call("POST", f"{self.base}/blobs/uploads/").headers["Location"]
        url = requests.compat.urljoin(self.base, upload)
        self.call("PUT", url + ("&" if "?" in url else "?") + f"digest={digest}", data=body,
                  headers={"Content-Type": "application/octet-stream"})
        manifest["config"].update(digest=digest, size=len(body))
        kind = manifest.get("mediaType", MANIFEST)
        self.call("PUT", f"{self.base}/manifests/{self.ref.tag}", data=json.dumps(manifest, indent=2),
                  headers={"Content-Type": kind})
        return True


def digest_of(image: Reference, target: Reference) -> str:
    """An image's manifest digest, from its registry (with our credentials only in the target's)."""
    access = Access(None, source="anonymous access")
    if image.registry == target.registry:
        access = Access(target.name, GITLAB_USER, GITLAB_PASSWORD, "the CI_REGISTRY_* variables")
    registry = Registry(image.registry, access)
    try:
        found = registry.digest(image)
    finally:
        registry.close()
    if not found:
        raise MsoError(f"{image}: its registry has no such image (check the reference)")
    return found
