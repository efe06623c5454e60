"""The real data remotes that .ci/services/data-up starts: `rclone serve webdav` (user and
password), `rclone serve http`, the test sshd as an SFTP remote, and a local folder.

`remotes` gives each test its own folder on every remote (under the served folders, written
straight to disk), the `credentials:` block a declaration needs for each remote, and the
environment variable holding the WebDAV password (obscured, as rclone wants it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CLUSTER_ENV, require

PASS_VAR = "MSO_TEST_DAV_PASS"   # what a declaration names: the obscured WebDAV password


@dataclass(frozen=True)
class Remotes:
    folder: str                  # this test's folder name on every remote
    webdav: Path                 # that folder on disk, as served by each remote
    http: Path
    sftp: Path
    local: Path
    http_url: str                # the http server's URL of the folder
    credentials: dict[str, dict]  # remote name -> the `credentials:` mapping that configures it
    password: str                # the WebDAV password in clear (for the canary checks)

    def yaml(self, remote: str, indent: int = 2) -> str:
        """The credentials block of a declaration for a remote, as YAML lines."""
        pad = " " * indent
        lines = ["credentials:"]
        for var, value in self.credentials[remote].items():
            shown = f"{{env: {value['env']}}}" if isinstance(value, dict) else f'"{value}"'
            lines.append(f"{pad}{var}: {shown}")
        return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def data_env() -> dict[str, str]:
    """Facts about the data remotes; skipped (failed under CI=true) when they are not up."""
    env = {}
    if CLUSTER_ENV.exists():
        env = dict(ln.split("=", 1) for ln in CLUSTER_ENV.read_text().splitlines() if "=" in ln)
    require("MSO_TEST_WEBDAV_URL" in env, "the data remotes", "run .ci/services/data-up")
    require(shutil.which("rclone") is not None, "rclone", "run .ci/services/data-up")
    try:
        urllib.request.urlopen(env["MSO_TEST_HTTP_URL"] + "/", timeout=5).close()
        answers = True
    except (urllib.error.URLError, OSError):
        answers = False
    require(answers, "rclone serve http", "run .ci/services/data-up")
    return env


@pytest.fixture
def remotes(data_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
            request: pytest.FixtureRequest) -> Remotes:
    folder = f"t{os.getpid()}-{request.node.name}"[:80].replace("[", "-").replace("]", "")
    dirs = {k: Path(data_env[f"MSO_TEST_{k.upper()}_DIR"]) / folder
            for k in ("webdav", "http", "sftp")}
    dirs["local"] = Path(data_env["MSO_TEST_LOCAL_DATA_DIR"]) / folder
    for d in dirs.values():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    password = Path(data_env["MSO_TEST_WEBDAV_PASSWORD_FILE"]).read_text().strip()
    obscured = subprocess.run(["rclone", "obscure", "-"], input=password, capture_output=True,
                              text=True, check=True).stdout.strip()
    monkeypatch.setenv(PASS_VAR, obscured)
    credentials = {
        "dav": {"RCLONE_CONFIG_DAV_TYPE": "webdav",
                "RCLONE_CONFIG_DAV_URL": data_env["MSO_TEST_WEBDAV_URL"],
                "RCLONE_CONFIG_DAV_VENDOR": "other",
                "RCLONE_CONFIG_DAV_USER": data_env["MSO_TEST_WEBDAV_USER"],
                "RCLONE_CONFIG_DAV_PASS": {"env": PASS_VAR}},
        "web": {"RCLONE_CONFIG_WEB_TYPE": "http",
                "RCLONE_CONFIG_WEB_URL": data_env["MSO_TEST_HTTP_URL"]},
        "sftp": {"RCLONE_CONFIG_SFTP_TYPE": "sftp",
                 "RCLONE_CONFIG_SFTP_HOST": data_env["MSO_TEST_SSH_HOST"],
                 "RCLONE_CONFIG_SFTP_PORT": data_env["MSO_TEST_SSH_PORT"],
                 "RCLONE_CONFIG_SFTP_USER": data_env["MSO_TEST_SSH_USER"],
                 "RCLONE_CONFIG_SFTP_KEY_FILE": data_env["MSO_TEST_SSH_KEY_FILE"],
                 "RCLONE_CONFIG_SFTP_KNOWN_HOSTS_FILE": data_env["MSO_TEST_KNOWN_HOSTS_FILE"]},
        "lab": {"RCLONE_CONFIG_LAB_TYPE": "local"},
    }
    yield Remotes(folder=folder, webdav=dirs["webdav"], http=dirs["http"], sftp=dirs["sftp"],
                  local=dirs["local"], http_url=f"{data_env['MSO_TEST_HTTP_URL']}/{folder}",
                  credentials=credentials, password=password)
    for d in dirs.values():
        shutil.rmtree(d, ignore_errors=True)
