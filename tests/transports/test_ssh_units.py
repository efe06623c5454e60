"""The SSH transport's pure parts: command framing, marker parsing, settings from variables."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from runner.errors import TransportError
from runner.transports import credentials, hostkeys
from runner.transports.shell import _Stream, frame
from runner.transports.settings import Endpoint, SSHSettings, parse_jump
from runner.transports.ssh import SSHTransport


def new_key(passphrase: bytes | None = None) -> tuple[str, str]:
    """A fresh ed25519 key: (private key text in OpenSSH format, public key line)."""
    key = ed25519.Ed25519PrivateKey.generate()
    enc = (serialization.BestAvailableEncryption(passphrase) if passphrase
           else serialization.NoEncryption())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                enc).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public


def body_lines(private: str) -> list[str]:
    """The lines of a key's text that are key material."""
    return [ln for ln in private.splitlines() if ln and not ln.startswith("-----")]


# --- framing ----------------------------------------------------------------------------------

def test_frame_quotes_the_command_and_never_contains_the_whole_marker() -> None:
    token = "MSO" + "ab" * 12
    text = frame("echo 'x' $(id) `id`", token, None).decode()
    assert "( eval 'echo '\"'\"'x'\"'\"' $(id) `id`' ) </dev/null\n" in text
    assert token not in text and token[:8] in text and token[8:] in text


def test_frame_passes_stdin_as_base64_under_a_random_delimiter() -> None:
    text = frame("cat", "MSO" + "0" * 24, "MSO_STDIN_x\n'$(id)'").decode()
    assert "$(id)" not in text and "< <(base64 -d <<'MSO_STDIN_" in text


def test_frame_refuses_a_nul() -> None:
    with pytest.raises(ValueError):
        frame("echo a\0b", "MSO" + "0" * 24, None)


@pytest.mark.parametrize("chunks, text, code", [
    ([b"abc\n\nMSOT 7\n"], "abc\n", 7),
    ([b"abc\nMSOT 0\n"], "abc", 0),                       # no trailing newline in the output
    ([b"ab", b"c\n", b"\nMS", b"OT 1", b"2", b"\n"], "abc\n", 12),   # marker split over chunks
    ([b"\nMSOT 0\n"], "", 0),
    ([b"MSOX 1\n\nMSOT 3\nlate output"], "MSOX 1\n", 3),  # another token is just output
])
def test_stream_ends_at_its_marker(chunks: list[bytes], text: str, code: int) -> None:
    stream = _Stream(b"\nMSOT")
    for chunk in chunks:
        stream.feed(chunk)
    assert (stream.text(), stream.code) == (text, code)


def test_stream_is_not_complete_before_the_marker_line_ends() -> None:
    stream = _Stream(b"\nMSOT")
    stream.feed(b"out\nMSOT 1")
    assert stream.end is None
    stream.feed(b"5\n")
    assert stream.code == 15


# --- jump hosts, variables, keys, known hosts ---------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("alice@gw.example.org:2200", Endpoint("gw.example.org", 2200, "alice")),
    ("gw.example.org", Endpoint("gw.example.org", 22, "bob")),
    ("gw:23", Endpoint("gw", 23, "bob")),
    ("alice@[::1]:2222", Endpoint("::1", 2222, "alice")),
])
def test_parse_jump(spec: str, expected: Endpoint) -> None:
    assert parse_jump(spec, "bob") == expected


def test_parse_jump_refuses_garbage() -> None:
    with pytest.raises(TransportError, match="user@host:port"):
        parse_jump("a@b@c:x", "bob")


def test_missing_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MSO_T_NOPE", raising=False)
    with pytest.raises(TransportError, match="MSO_T_NOPE") as err:
        SSHTransport(SSHSettings("h", key_var="MSO_T_NOPE"))
    assert err.value.transient is False


def test_neither_key_nor_password_is_refused() -> None:
    with pytest.raises(TransportError, match="neither a `key` nor a `password`"):
        SSHTransport(SSHSettings("h"))


def test_key_from_text_or_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private, public = new_key()
    (tmp_path / "id").write_text(private)
    for value in (private, str(tmp_path / "id")):
        monkeypatch.setenv("MSO_T_K", value)
        key = credentials.private_key("MSO_T_K", None)
        assert public.split()[1] == key.get_base64()


def test_encrypted_key_needs_its_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    private, public = new_key(b"pass phrase 1")
    monkeypatch.setenv("MSO_T_K", private)
    assert credentials.private_key("MSO_T_K", "pass phrase 1").get_base64() in public
    with pytest.raises(TransportError, match="encrypted") as err:
        credentials.private_key("MSO_T_K", None)
    with pytest.raises(TransportError, match="MSO_T_K") as wrong:
        credentials.private_key("MSO_T_K", "not it")
    for exc in (err.value, wrong.value):
        assert not any(line in str(exc) for line in body_lines(private))


def test_a_key_variable_holding_garbage_never_echoes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LWlzLW5vdC1hLXBhdGg"
    monkeypatch.setenv("MSO_T_K", secret)
    with pytest.raises(TransportError, match="MSO_T_K") as err:
        credentials.private_key("MSO_T_K", None)
    assert secret not in str(err.value)


def test_known_hosts_from_lines_a_path_or_nothing(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _, public = new_key()
    line = f"[10.0.0.1]:2222 {public}"
    (tmp_path / "kh").write_text(line + "\n")
    for value, source in ((line, "variable MSO_T_KH"), (str(tmp_path / "kh"), str(tmp_path))):
        monkeypatch.setenv("MSO_T_KH", value)
        known = hostkeys.load("MSO_T_KH")
        assert known.text.strip() == line and source in known.source
    monkeypatch.setenv("MSO_T_KH", str(tmp_path / "missing"))
    with pytest.raises(TransportError, match="neither known_hosts lines nor"):
        hostkeys.load("MSO_T_KH")


def test_pin_hint_says_how_to_pin() -> None:
    assert "ssh-keyscan -p 2222 127.0.0.1" in hostkeys.pin_hint("127.0.0.1", 2222, "KH")
    assert hostkeys.split_name("[h]:2222") == ("h", 2222)
    assert hostkeys.split_name("h") == ("h", 22)


# --- transient failures without any sshd --------------------------------------------------------

def test_refused_connection_is_retried_then_transient(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    private, _ = new_key()
    monkeypatch.setenv("MSO_T_K", private)
    monkeypatch.setenv("MSO_T_KH", "")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = SSHTransport(SSHSettings("127.0.0.1", port, "u", key_var="MSO_T_K",
                                 known_hosts_var="MSO_T_KH"), attempts=3, backoff=0.01)
    with pytest.raises(TransportError, match="after 3 tries") as err:
        t.run("true")
    assert err.value.transient is True
    assert len([r for r in caplog.records if "try " in r.getMessage()]) == 2


def test_eof_before_the_banner_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    private, _ = new_key()
    monkeypatch.setenv("MSO_T_K", private)
    monkeypatch.setenv("MSO_T_KH", "")
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def hang_up() -> None:
        for _ in range(2):
            conn, _ = server.accept()
            accepted.append(1)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    t = SSHTransport(SSHSettings("127.0.0.1", server.getsockname()[1], "u", key_var="MSO_T_K",
                                 known_hosts_var="MSO_T_KH"), attempts=2, backoff=0.01)
    with pytest.raises(TransportError) as err:
        t.exists("/x")
    server.close()
    assert err.value.transient is True and len(accepted) == 2
