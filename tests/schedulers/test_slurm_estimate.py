"""Slurm's start estimate without a cluster: the parser from recorded `sbatch --test-only` output
(tests/fixtures/slurm/README.md says how each was recorded), the command's quoting, and the
backends that give no estimate."""

from __future__ import annotations

import shlex

import pytest

from runner.declarations.models import EnvRef, Infrastructure, Resources, SlurmApi, freeze
from runner.errors import SchedulerError
from runner.schedulers import context, slurm
from runner.schedulers.slurm_estimate import NOW, estimate_command, parse_estimate
from tests.schedulers.test_slurm import fx


def recorded(case: str) -> tuple[int, str]:
    """The exit code and output of one recorded estimate_command."""
    return int(fx(f"sbatch_test_only_{case}.exitcode.txt")), fx(f"sbatch_test_only_{case}.stdout.txt")


def test_a_free_node_starts_a_task_now() -> None:
    assert parse_estimate(*recorded("empty")) == 0


def test_a_full_node_starts_a_task_when_the_job_holding_it_ends() -> None:
    # recorded 5 s after a job of a 1-min limit took all 16 CPUs (README): ~55 s from its end
    assert 53 <= parse_estimate(*recorded("full")) <= 55


@pytest.mark.parametrize("case, reason", [
    ("bad_partition", "invalid partition specified: nosuch; Invalid partition name specified"),
    ("too_many_cpus", "Requested node configuration is not available")])
def test_a_refusal_is_one_line_with_sbatch_s_reasons(case: str, reason: str) -> None:
    code, out = recorded(case)
    with pytest.raises(SchedulerError) as err:
        parse_estimate(code, out)
    assert str(err.value) == f"sbatch --test-only refused the request: {reason}"


def test_a_refusal_without_words_says_its_exit_code() -> None:
    with pytest.raises(SchedulerError, match="^sbatch --test-only refused the request: exit code 255, no message$"):
        parse_estimate(255, "", "")


def test_no_start_time_from_slurm_is_no_estimate() -> None:
    code, out = recorded("empty")
    unknown = "\n".join(ln.replace(ln.split()[6], "Unknown") if "to start at" in ln else ln
                        for ln in out.splitlines())
    assert "to start at Unknown using" in unknown
    assert parse_estimate(code, unknown) is None


@pytest.mark.parametrize("text", [
    "",                                                   # nothing at all
    "@mso now 1796197330\n",                              # the clock, and no word from sbatch
    "sbatch: Job 6 to start at 1796197330 using 1 processors on nodes vm in partition debug\n",
    # a start in another format than asked for is not guessed at
    "@mso now 1796197330\nsbatch: Job 6 to start at 2026-12-02T07:42:10 using 1 processors\n"])
def test_output_without_both_instants_is_an_error_that_shows_it(text: str) -> None:
    with pytest.raises(SchedulerError, match="^sbatch --test-only gave no start time: ") as err:
        parse_estimate(0, text)
    assert "\n" not in str(err.value)
    assert all(ln in str(err.value) for ln in text.splitlines() if not ln.startswith(NOW))


def test_a_start_before_the_login_host_s_now_is_now() -> None:
    code, out = recorded("empty")
    now = int(out.split()[2])
    ahead = out.replace(f"{NOW} {now}", f"{NOW} {now + 3}")   # the login host's clock 3 s ahead
    assert parse_estimate(code, ahead) == 0


def test_the_command_carries_each_option_as_one_word() -> None:
    infra = Infrastructure(name="c", kind="slurm", partition="debug", account="proj-1")
    res = Resources(tasks=1, cpus_per_task=2, memory="1G", walltime="00:10:00",
                    slurm=freeze({"comment": "a|b&(c)"}))
    lexer = shlex.shlex(estimate_command(slurm.directives(infra, res)), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True   # words split by blanks and by the shell's operators alone
    words = list(lexer)
    sbatch = words[words.index("sbatch"):]
    assert sbatch == ["sbatch", "--test-only", *slurm.directives(infra, res), "--wrap=true", "2", ">&", "1"]
    assert "--comment=a|b&(c)" in sbatch and words[:3] == ["date", f"+{NOW} %s", ";"]


@pytest.mark.parametrize("kind, extra", [
    ("local", {}), ("ssh", {"host": "h"}), ("pbs", {"host": "h"}), ("torque", {"host": "h"}),
    ("slurm", {"host": "h", "api": SlurmApi("http://rest:6820", EnvRef("SLURM_TOKEN"))})])
def test_backends_without_an_estimate_give_none(kind: str, extra: dict) -> None:
    assert context.renderer(Infrastructure(name="i", kind=kind, **extra)).start_estimate(Resources()) is None



def test_a_start_centuries_away_is_no_estimate() -> None:
    """Seen on the test cluster with its node filled: a start 15 x 2^30 s ahead."""
    said = f"{NOW} 1796199243\nsbatch: Job 7 to start at {1796199243 + 15 * 2**30} using 1 " \
           "processors on nodes vm in partition debug\n"
    assert parse_estimate(0, said) is None
    within = said.replace(str(1796199243 + 15 * 2**30), str(1796199243 + 86400))
    assert parse_estimate(0, within) == 86400.0


def test_a_start_centuries_away_is_asked_again_once() -> None:
    from runner.schedulers.slurm_estimate import estimate
    from runner.transports.base import Result
    from tests.schedulers.test_slurm import Fake
    far = f"{NOW} 100\nsbatch: Job 7 to start at {100 + 15 * 2**30} using 1 processors\n"
    near = f"{NOW} 100\nsbatch: Job 8 to start at 130 using 1 processors\n"
    answers = iter([far, near])
    asked = Fake(respond=lambda cmd: Result(cmd, 0, next(answers), ""))
    assert estimate(asked, ["--partition=debug"]) == 30.0 and len(asked.commands) == 2
    again = Fake(respond=lambda cmd: Result(cmd, 0, far, ""))
    assert estimate(again, []) is None and len(again.commands) == 2, "twice, no more"
