"""`mso book serve`: the built book over HTTP on 127.0.0.1, stopped by Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, mso


def _start(repo: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runner", "-C", str(repo), "book", "serve",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read().decode("utf-8")


def test_serves_the_book_and_ctrl_c_stops_it(built: Path) -> None:
    proc = _start(built, "--port", "0", "--json")
    try:
        ready = json.loads(proc.stdout.readline())
        url = ready["url"]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        assert ready["site"] == str(built / "site")
        status, home = _get(url)
        assert status == 200 and "mso laboratory book</title>" in home
        status, page = _get(url + "experiments/heat-sweep.html")
        assert status == 200 and "heat-sweep" in page and 'class="md-content"' in page
        try:
            _get(url + "no-such-page.html")
            raise AssertionError("a missing page was served")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert err.strip() == "mso: interrupted" and out == ""
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "still listening after Ctrl-C"


def test_the_address_line_for_people(built: Path) -> None:
    proc = _start(built, "--port", "0")
    try:
        line = proc.stdout.readline()
    finally:
        proc.terminate()      # SIGTERM stops it as Ctrl-C does
        proc.communicate(timeout=20)
    assert line.startswith(f"mso: book: serving {built / 'site'} at http://127.0.0.1:"), line
    assert line.rstrip().endswith("(Ctrl-C stops)")
    assert proc.returncode == 130


def test_no_built_book_and_a_busy_port_are_one_line_each(built: Path, tmp_path: Path) -> None:
    missing = mso("book", "serve", "--site", str(tmp_path / "nothing"), repo=built)
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == [
        f"mso: {tmp_path / 'nothing'}: no built book there (no index.html); run `mso book build` "
        "first, or give the site's folder with --site"]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = mso("book", "serve", "--port", str(port), repo=built, timeout=20)
    assert busy.returncode == 1 and "Traceback" not in busy.stderr
    assert busy.stderr.strip() == (f"mso: port {port} on 127.0.0.1 is in use: choose another "
                                   "with --port (--port 0 takes a free one)")
    bad = mso("book", "serve", "--port", "70000", repo=built)
    assert bad.returncode == 2 and "is not a port" in bad.stderr
