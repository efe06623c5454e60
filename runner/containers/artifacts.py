"""Files as OCI artifacts (a SIF image in any OCI registry, GitLab's included), through oras-py.

Credentials go to oras's session in this process (`set_basic_auth`), never through its `login`,
which would write them into a docker config file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from runner.containers.process import Transient
from runner.containers.reference import Reference
from runner.errors import ContainerError

SIF_MEDIA_TYPE = "application/vnd.sylabs.sif.layer.v1.sif"   # what apptainer's oras:// expects


def _client(host: str, creds: tuple[str, str] | None):
    import oras.client   # here: only SIF images need it, and it takes a while to import
    client = oras.client.OrasClient(hostname=host, tls_verify=True, auth_backend=_scheme(host))
    if creds:
        client.auth.set_basic_auth(*creds)
    return client


def _scheme(host: str) -> str:
    """oras's auth backend for the registry's challenge: its token backend hangs retrying a
    Basic challenge (as a plain htpasswd registry sends), its basic one cannot do GitLab's."""
    with _errors(f"asking {host} how to authenticate"):
        res = requests.get(f"https://{host}/v2/", timeout=30)
    challenge = res.headers.get("WWW-Authenticate", "")
    return "token" if challenge.lower().startswith("bearer") else "basic"


def push_file(path: Path, target: Reference, creds: tuple[str, str] | None,
              media_type: str = SIF_MEDIA_TYPE) -> None:
    """Push one file as an artifact to `target` (a tag); Transient when the registry is away."""
    client = _client(target.registry, creds)
    with _errors(f"pushing {path.name} to {target}"):
        client.push(target=str(target), files=[f"{path}:{media_type}"],
                    disable_path_validation=True, quiet=True)


def pull_file(ref: Reference, outdir: Path, creds: tuple[str, str] | None) -> list[Path]:
    """Pull an artifact's files into `outdir`."""
    client = _client(ref.registry, creds)
    outdir.mkdir(parents=True, exist_ok=True)
    with _errors(f"pulling {ref}"):
        return [Path(p) for p in client.pull(target=str(ref), outdir=str(outdir))]


@contextmanager
def _errors(what: str) -> Iterator[None]:
    """oras raises requests' errors and its own: one line each, transient ones marked so."""
    try:
        yield
    except ContainerError:
        raise
    except requests.exceptions.SSLError:
        raise ContainerError(f"{what}: the registry's TLS certificate is not trusted; point "
                             "REQUESTS_CA_BUNDLE at a bundle holding its CA") from None
    except (requests.ConnectionError, requests.Timeout):
        raise Transient(f"{what}: the registry did not answer") from None
    except (ValueError, requests.RequestException, OSError) as exc:   # oras's failures
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ContainerError(f"{what} failed: {first}") from None
