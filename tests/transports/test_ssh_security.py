"""Host keys are verified (never learnt) and secrets reach no message and no log."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Callable

import pytest

from runner.errors import TransportError
from runner.declarations.models import EnvRef, Infrastructure
from runner.schedulers.context import connect as connect_infrastructure
from runner.secrets import Secrets
from runner.transports.settings import SSHSettings
from runner.transports.ssh import SSHTransport

from .conftest import KEY_VAR, KNOWN_VAR, PASSWORD_VAR
from .test_ssh_units import body_lines, new_key

pytestmark = pytest.mark.integration
SECRET_PASSWORD = "pw-Zq81-never-show-me"


def everything_said(exc: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """The message, the formatted traceback and every log record of a test."""
    records = "\n".join(r.getMessage() for r in caplog.records)
    return "\n".join([str(exc), "".join(traceback.format_exception(exc)), records])


def test_unknown_host_key_is_refused_with_how_to_pin_it(
        connect: Callable[..., SSHTransport], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KNOWN_VAR, "")
    with pytest.raises(TransportError, match="not in the known hosts") as err:
        connect().run("true")
    message = str(err.value)
    assert err.value.transient is False
    assert "ssh-keyscan -p 2222 127.0.0.1" in message and KNOWN_VAR in message
    assert "SHA256:" in message


def test_unknown_host_key_with_an_empty_file(connect: Callable[..., SSHTransport],
                                             monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    (tmp_path / "known_hosts").write_text("")
    monkeypatch.setenv(KNOWN_VAR, str(tmp_path / "known_hosts"))
    with pytest.raises(TransportError, match="not in the known hosts") as err:
        connect().exists("/tmp")
    assert err.value.transient is False


@pytest.mark.parametrize("pinned_as", ["[127.0.0.2]:2222", "127.0.0.1"])
def test_a_key_pinned_for_another_host_or_port_does_not_count(
        connect: Callable[..., SSHTransport], monkeypatch: pytest.MonkeyPatch,
        ssh_vars: dict[str, str], pinned_as: str) -> None:
    lines = Path(ssh_vars["MSO_TEST_KNOWN_HOSTS_FILE"]).read_text().splitlines()
    monkeypatch.setenv(KNOWN_VAR, "\n".join(f"{pinned_as} {ln.split(' ', 1)[1]}" for ln in lines))
    with pytest.raises(TransportError, match="not in the known hosts"):
        connect().run("true")


def test_changed_host_key_is_refused(connect: Callable[..., SSHTransport],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _, public = new_key()
    monkeypatch.setenv(KNOWN_VAR, f"[127.0.0.1]:2222 {public}\n")
    with pytest.raises(TransportError, match="CHANGED") as err:
        connect().run("true")
    assert err.value.transient is False
    assert "ssh-keyscan -p 2222 127.0.0.1" in str(err.value)


def test_wrong_key_is_refused_at_once_without_key_material(
        connect: Callable[..., SSHTransport], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    private, _ = new_key()
    monkeypatch.setenv(KEY_VAR, private)
    monkeypatch.setenv(PASSWORD_VAR, SECRET_PASSWORD)
    transport = connect(password_var=PASSWORD_VAR, attempts=5, backoff=5)
    with pytest.raises(TransportError, match="authentication refused") as err:
        transport.run("true")  # permanent: no retry, so no 5 s backoff either
    assert err.value.transient is False
    assert KEY_VAR in str(err.value) and PASSWORD_VAR in str(err.value)
    said = everything_said(err.value, caplog)
    assert SECRET_PASSWORD not in said
    assert not any(line in said for line in body_lines(private))


def test_key_text_and_password_never_reach_a_log(connect: Callable[..., SSHTransport],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 ssh_vars: dict[str, str],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    private = Path(ssh_vars["MSO_TEST_SSH_KEY_FILE"]).read_text()
    monkeypatch.setenv(KEY_VAR, private)  # the key's text this time, not its path
    monkeypatch.setenv(PASSWORD_VAR, SECRET_PASSWORD)
    transport = connect(password_var=PASSWORD_VAR)
    assert transport.run("echo ok").stdout == "ok\n"
    transport.put(Path(__file__), "/tmp/mso-transport-test-secret-check.py")
    transport.run("rm -f /tmp/mso-transport-test-secret-check.py")
    with pytest.raises(TransportError) as err:
        transport.run("sleep 5", timeout=0.5)
    said = everything_said(err.value, caplog) + repr(transport.__dict__)
    assert caplog.records and SECRET_PASSWORD not in said
    assert not any(line in said for line in body_lines(private))


def test_missing_variable_is_named(connect: Callable[..., SSHTransport],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VAR)
    with pytest.raises(TransportError, match=f"{KEY_VAR} .*is not set") as err:
        connect()
    assert err.value.transient is False
    monkeypatch.setenv(KEY_VAR, "/nonexistent/key")
    with pytest.raises(TransportError, match=f"{KEY_VAR} holds neither"):
        connect().run("true")


def test_an_infrastructure_is_reached_with_its_secrets_named_only(
        monkeypatch: pytest.MonkeyPatch, ssh_vars: dict[str, str]) -> None:
    """The scheduler side maps a declaration to settings: a user read from its variable, the
    key and the known hosts by the names of their variables (values read when connecting)."""
    user, host, port = (ssh_vars["MSO_TEST_SSH_USER"], ssh_vars["MSO_TEST_SSH_HOST"],
                        int(ssh_vars["MSO_TEST_SSH_PORT"]))
    monkeypatch.setenv("MSO_T_USER", user)
    infra = Infrastructure(name="c", kind="slurm", host=host, port=port, user=EnvRef("MSO_T_USER"),
                           key=EnvRef(KEY_VAR), known_hosts=EnvRef(KNOWN_VAR))
    transport = connect_infrastructure(infra, Secrets())
    try:
        assert transport.settings == SSHSettings(host, port, user, key_var=KEY_VAR,
                                                 known_hosts_var=KNOWN_VAR)
        assert transport.run("id -un").stdout.strip() == user
        assert transport.run("squeue -h -o %i", timeout=30).code == 0  # Slurm behind the login
    finally:
        transport.close()
    monkeypatch.delenv("MSO_T_USER")
    with pytest.raises(TransportError, match="MSO_T_USER"):
        connect_infrastructure(infra, Secrets())
    with pytest.raises(TransportError, match="infrastructure 'c' has no host"):
        connect_infrastructure(Infrastructure(name="c", kind="ssh", key=EnvRef(KEY_VAR)),
                               Secrets())
