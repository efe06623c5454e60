"""Serve a built book on 127.0.0.1 with the standard library's HTTP server, until interrupted.

It serves the files `mso book build` wrote, as GitLab Pages would; it builds nothing (mkdocs
serve would rebuild from .mso/book/docs without regenerating the pages from results/).
"""

from __future__ import annotations

import errno
import functools
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from runner.errors import BookError

HOST = "127.0.0.1"


class _Quiet(SimpleHTTPRequestHandler):
    """Serves files without a line per request on the terminal."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """Requests are not logged: the terminal keeps the address line."""


def check_site(site: Path) -> Path:
    """The site folder, if a book was built there; else say how to build one."""
    if not (site / "index.html").is_file():
        raise BookError(f"{site}: no built book there (no index.html); run `mso book build` "
                        "first, or give the site's folder with --site")
    return site


def open_server(site: Path, port: int) -> ThreadingHTTPServer:
    """A server for `site` bound to 127.0.0.1:port (0: a free port)."""
    handler = functools.partial(_Quiet, directory=str(check_site(site)))
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise BookError(f"port {port} on {HOST} is in use: choose another with --port "
                            "(--port 0 takes a free one)") from None
        raise BookError(f"cannot serve on {HOST}:{port}: {exc.strerror or exc}") from None


def serve(site: Path, port: int, ready: Callable[[str], None]) -> None:
    """Serve `site` until Ctrl-C (KeyboardInterrupt, which propagates) or SIGTERM."""
    with open_server(site, port) as server, _terminate_as_interrupt():
        ready(f"http://{HOST}:{server.server_address[1]}/")
        server.serve_forever()


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM stop the server as Ctrl-C does, even if the parent ignored SIGINT."""
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
    before = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
