"""Task lines name their parameters, and a failed task is told where you are: parameters,
reason, the end of its stderr (secrets masked), where its logs are."""

from __future__ import annotations

from pathlib import Path

from runner.commands import tasklines
from tests.conftest import mso

SECRET = "s3cr3t-value-not-for-terminals"

NOISY_APP = """\
name: noisy
version: "1"
description: Writes numbered lines to stderr, one of them a handed secret, then exits with a code.
command: [python3, noisy.py, "{secret_file}", "{lines}", "{code}"]
parameters:
  type: object
  properties:
    secret_file: {type: string}
    lines: {type: integer, minimum: 0, default: 15}
    code: {type: integer, default: 1}
    nu: {type: number, default: 0.1}
"""

NOISY_PY = """\
import sys
secret_file, lines, code = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(lines):
    print(f"stderr line {i}", file=sys.stderr)
if lines:
    print("token " + open(secret_file).read().strip(), file=sys.stderr)
print("to stdout")
sys.exit(code)
"""


def _noisy(repo: Path, matrix: str) -> dict[str, str]:
    """The `noisy` application and experiment; the environment that makes its secret one."""
    (repo / "applications" / "noisy").mkdir()
    (repo / "applications" / "noisy.yaml").write_text(NOISY_APP)
    (repo / "applications" / "noisy" / "noisy.py").write_text(NOISY_PY)
    handed = repo.parent / "handed.txt"    # outside the repository: the task reads it
    handed.write_text(SECRET + "\n")
    (repo / "experiments" / "noisy.yaml").write_text(
        f"name: noisy\napplication: noisy@1\nparameters: {{secret_file: '{handed}'}}\n"
        f"matrix: {matrix}\n")
    return {"MSO_SECRET_VARS": "HANDED", "HANDED": SECRET}


def test_a_failed_task_shows_parameters_reason_stderr_tail_and_path(example: Path) -> None:
    env = _noisy(example, "{nu: [0.4, 0.8], code: [0, 3]}")
    proc = mso("run", "noisy", repo=example, env=env, cwd=example)
    assert proc.returncode == 2
    err = proc.stderr
    assert SECRET not in err
    assert "noisy main-0000 (code=0 nu=0.4): succeeded" in err
    block = err[err.index("noisy main-0001 (code=3 nu=0.4): failed: exit code 3"):].splitlines()
    assert block[1].startswith("    parameters: ") and "nu=0.4" in block[1] and "lines=15" in block[1]
    assert block[2] == "    reason: exit code 3"
    assert block[3] == "    stderr, last 10 lines:"
    # 15 numbered lines and the token: the last 10 are lines 6..14 and the masked token
    assert block[4:14] == [f"      | stderr line {i}" for i in range(6, 15)] + ["      | token [MASKED]"]
    [run] = [p.name for p in (example / "results" / "noisy").iterdir()]
    assert block[14] == f"    logs: results/noisy/{run}/main-0001/stderr.txt"
    assert block[15] == f"    read them: mso logs {run} main-0001 --stderr"
    assert (example / "results" / "noisy" / run / "main-0001" / "stderr.txt").is_file()


def test_a_failure_with_empty_stderr_says_so(example: Path, tmp_path: Path) -> None:
    env = _noisy(example, "{lines: [0]}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = mso("run", "noisy", repo=example, env=env, cwd=elsewhere)
    assert proc.returncode == 2
    assert "    stderr: (empty)" in proc.stderr
    # run from elsewhere: the path and the command name the repository
    [run] = [p.name for p in (example / "results" / "noisy").iterdir()]
    assert f"    logs: {example}/results/noisy/{run}/main-0000\n" in proc.stderr
    assert f"    read them: mso -C {example} logs {run} main-0000\n" in proc.stderr


def test_params_text_is_short_for_many_parameters() -> None:
    params = {f"p{i}": i * 1000 for i in range(30)} | {"name": "x" * 80}
    line = tasklines.params_text(params)
    assert len(line) <= tasklines.LINE_WIDTH and line.endswith("…") and line.startswith("p0=0 p1=1000")
    assert tasklines.params_text({"name": "x" * 80}, width=200) == "name=" + "x" * 23 + "…"
    assert tasklines.params_text({"nu": 0.4, "ok": True, "xs": [1, 2], "m": {"a": 1}}) == \
        "nu=0.4 ok=true xs=[1,2] m={a:1}"
    assert tasklines.params_text({"nu": 0.4, "n": 64}, ["n", "missing"]) == "n=64"


def test_distinguishing_keeps_the_sweep_axes() -> None:
    tasks = [{"t_end": 0.1, "nu": nu, "n": n} for nu in (0.1, 0.2) for n in (32, 64)]
    assert tasklines.distinguishing(tasks) == ["nu", "n"]
    assert tasklines.distinguishing([{"t_end": 0.1, "nu": 0.1}]) == ["t_end", "nu"]
    assert tasklines.distinguishing([{"a": 1}, {"a": 1, "b": 2}]) == ["b"]
    assert tasklines.distinguishing([]) == []


def test_task_line_and_where(tmp_path: Path) -> None:
    assert tasklines.task_line("heat", "main-0002", "nu=0.4 n=64", "succeeded") == \
        "heat main-0002 (nu=0.4 n=64): succeeded"
    assert tasklines.task_line("heat", "main-0000", "", "paused: x") == "heat main-0000: paused: x"
    inside = tmp_path / "results" / "x.txt"
    assert tasklines.where(inside, tmp_path) == "results/x.txt"
    assert tasklines.where(inside, tmp_path / "elsewhere") == str(inside)


def test_last_lines_reads_only_the_end(tmp_path: Path) -> None:
    log = tmp_path / "stderr.txt"
    assert tasklines.last_lines(log) is None
    log.write_text("")
    assert tasklines.last_lines(log) is None
    log.write_text("".join(f"line {i}\n" for i in range(200_000)))
    assert tasklines.last_lines(log) == [f"line {i}" for i in range(199_990, 200_000)]
    log.write_text("only\n")
    assert tasklines.last_lines(log, 3) == ["only"]


def test_failure_lines_and_the_logs_command(tmp_path: Path) -> None:
    lines = tasklines.failure_lines({"nu": 0.4}, None, None, False, None, "mso logs R T")
    assert lines == ["    parameters: nu=0.4", "    reason: unknown",
                     "    stderr: (none: the command never started)", "    read them: mso logs R T"]
    one = tasklines.failure_lines({}, "why", ["boom"], True, "p", "c")
    assert one[1:4] == ["    reason: why", "    stderr, last 1 line:", "      | boom"]
    odd = tmp_path / "a b"
    assert tasklines.logs_command("R", "T", odd, tmp_path, "--stderr") == \
        "mso -C 'a b' logs R T --stderr"
    assert tasklines.logs_command("R", "T", tmp_path, tmp_path) == "mso logs R T"
