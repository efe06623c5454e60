"""Commands through the one remote shell of the SSH transport, against the real test sshd."""

from __future__ import annotations

import hashlib
import shlex
import time
from typing import Callable

import pytest

from runner.errors import TransportError
from runner.transports.ssh import SSHTransport

pytestmark = pytest.mark.integration

HOSTILE = [
    "plain", "two words", "'", '"', "it's \"quoted\"", "$(touch /tmp/mso-pwned)", "`id`",
    "; rm -rf /tmp/nothing-here", "a\nb", "*", "~", "-n", "--", "$HOME", "\\", "\t tab",
    "ünïcødé ✓", "!event", "{a,b}", "a|b&c>d<e", "%s%d\\n", ")", "( eval",
]


def test_exit_codes_and_streams_are_separate(ssh: SSHTransport) -> None:
    result = ssh.run("echo out; echo err >&2; echo out2; exit 4")
    assert (result.code, result.stdout, result.stderr) == (4, "out\nout2\n", "err\n")
    assert result.command == "echo out; echo err >&2; echo out2; exit 4"


def test_output_without_a_trailing_newline(ssh: SSHTransport) -> None:
    result = ssh.run("printf abc; printf def >&2")
    assert (result.stdout, result.stderr) == ("abc", "def")
    assert ssh.run("true").stdout == ""


def test_binaryish_output(ssh: SSHTransport) -> None:
    result = ssh.run(r"printf 'a\000b\377c\r\n'")
    assert result.stdout == "a\x00b\ufffdc\r\n"


def test_five_megabytes_on_both_streams_at_once(ssh: SSHTransport) -> None:
    n = 5_000_000
    result = ssh.run(f"head -c {n} /dev/zero | tr '\\0' o & head -c {n} /dev/zero | tr '\\0' e >&2;"
                     " wait", timeout=60)
    assert result.code == 0
    assert result.stdout == "o" * n and result.stderr == "e" * n


def test_large_text_output_is_verbatim(ssh: SSHTransport) -> None:
    result = ssh.run("seq 1 700000", timeout=60)
    expected = "".join(f"{i}\n" for i in range(1, 700001))
    assert len(result.stdout) > 4_000_000 and result.stdout == expected


def test_stdin_with_hostile_content_arrives_verbatim(ssh: SSHTransport) -> None:
    marker_like = "MSO" + "0" * 24
    content = ("line one\n'single' \"double\" $(touch /tmp/mso-pwned) `id` $HOME \\\n"
               f"MSO_STDIN_0123456789abcdef\n{marker_like} 0\n\nEOF\n\x00nul\rcr ✓ "
               "no newline at end")
    result = ssh.run("cat", stdin=content)
    assert (result.code, result.stdout, result.stderr) == (0, content, "")
    digest = ssh.run("sha256sum", stdin=content).stdout.split()[0]
    assert digest == hashlib.sha256(content.encode()).hexdigest()
    assert ssh.run("test -e /tmp/mso-pwned").code == 1
    assert ssh.run("wc -c", stdin="").stdout.strip() == "0"


def test_commands_reading_stdin_do_not_hang_the_shell(ssh: SSHTransport) -> None:
    assert ssh.run("cat", timeout=10).stdout == ""
    assert ssh.run('read -r x; echo "[$x]"', timeout=10).stdout == "[]\n"
    assert ssh.run("echo still here").stdout == "still here\n"


def test_hostile_arguments_reach_the_remote_verbatim(ssh: SSHTransport) -> None:
    cmd = "printf '%s\\0' " + " ".join(shlex.quote(a) for a in HOSTILE)
    result = ssh.run(cmd)
    assert result.code == 0
    assert result.stdout.split("\0")[:-1] == HOSTILE
    assert ssh.run("test -e /tmp/mso-pwned").code == 1


def test_a_syntax_error_fails_alone(ssh: SSHTransport) -> None:
    result = ssh.run("echo 'unterminated")
    assert result.code == 2 and "unexpected EOF" in result.stderr
    assert ssh.run("echo fine").stdout == "fine\n"


def test_exit_is_an_exit_code_and_the_next_command_works(ssh: SSHTransport) -> None:
    shell = ssh.run("echo $$").stdout
    assert ssh.run("exit 3").code == 3
    assert ssh.run("echo $$").stdout == shell  # the same shell: exit ended a subshell only


def test_a_command_that_kills_the_shell_is_reported_and_the_shell_reopens(
        ssh: SSHTransport) -> None:
    before = ssh.run("echo $$").stdout
    result = ssh.run("echo partial; kill -KILL $$")
    assert result.code != 0 and result.stdout == "partial\n"
    assert "remote shell ended while running this command" in result.stderr
    after = ssh.run("echo $$")
    assert after.code == 0 and after.stdout != before


def test_state_does_not_leak_between_commands(ssh: SSHTransport) -> None:
    home = ssh.run("pwd").stdout
    ssh.run("cd /tmp; export MSO_LEAK=1; set -e; shopt -s nullglob")
    assert ssh.run("pwd; echo ${MSO_LEAK:-unset}").stdout == home + "unset\n"


def test_the_shell_is_a_login_shell(ssh: SSHTransport) -> None:
    assert ssh.run("shopt -q login_shell && echo login").stdout == "login\n"


def test_a_background_job_does_not_block(ssh: SSHTransport) -> None:
    start = time.monotonic()
    assert ssh.run("sleep 3 >/dev/null 2>&1 & echo started").stdout == "started\n"
    assert time.monotonic() - start < 2


def test_timeout_kills_the_command_and_the_next_one_works(ssh: SSHTransport) -> None:
    start = time.monotonic()
    with pytest.raises(TransportError, match="timed out after 1 s") as err:
        ssh.run("sleep 31.7", timeout=1)
    assert time.monotonic() - start < 8 and err.value.transient is True
    assert ssh.run("echo after").stdout == "after\n"
    assert ssh.run("pgrep -u \"$(id -un)\" -fx 'sleep 31.7'").code == 1


def test_a_shell_that_cannot_start_is_a_permanent_error(
        connect: Callable[..., SSHTransport]) -> None:
    with pytest.raises(TransportError, match="ended at start with status 127") as err:
        connect(shell="mso-no-such-shell -l").run("true")
    assert err.value.transient is False


def test_command_not_found_is_an_exit_code(ssh: SSHTransport) -> None:
    result = ssh.run("mso-no-such-command --flag")
    assert result.code == 127 and "not found" in result.stderr
    with pytest.raises(TransportError, match="exit code 127"):
        result.check()


def test_commands_are_fast(ssh: SSHTransport) -> None:
    ssh.run("true")
    start = time.monotonic()
    for _ in range(50):
        ssh.run("true")
    assert (time.monotonic() - start) / 50 < 0.05  # measured ~1 ms; a channel each is ~120 ms
