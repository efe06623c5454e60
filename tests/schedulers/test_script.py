"""The generated job wrapper: golden files, quoting of hostile values, and what it records."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

import pytest

from runner.plan.resolve import TaskPlan
from runner.schedulers import script
from runner.declarations.models import freeze
from tests import golden

GOLDEN = Path(__file__).parent / "golden"


def _task(argv, env=None) -> TaskPlan:
    return TaskPlan(id="main-0003", step="main", index=3, application="heat@1.2.0",
                    infrastructure="local", parameters=freeze({"nu": 0.1}), argv=tuple(argv),
                    environment=freeze(env or {}))


def _check_golden(name: str, text: str) -> None:
    golden.check_golden(GOLDEN / name, text)


def test_golden_local_script() -> None:
    task = _task(["python", "heat.py", "--nu", "0.1", "--out", "out"], {"OMP_NUM_THREADS": "1"})
    text = script.render(task, PurePosixPath("/scratch/mso/20261125T000000Z-abcdef12/main-0003"),
                         header=[], modules=("gcc/12", "openmpi"), timeout="00:10:00",
                         label="mso.run.main-0003")
    _check_golden("local.sh", text.replace(script.__version__, "VERSION"))


@pytest.mark.parametrize("hostile", ["$(touch pwned)", "`touch pwned`", "a; touch pwned",
                                     "' ; touch pwned ; '", "x && touch pwned", "*", "$HOME"])
def test_hostile_arguments_reach_the_command_verbatim(tmp_path: Path, hostile: str) -> None:
    work = tmp_path / "w"
    (work / script.META).mkdir(parents=True)
    argv = ["python3", "-c", "import sys; open('args','w').write(repr(sys.argv[1:]))", hostile]
    text = script.render(_task(argv, {"HOSTILE": hostile}), PurePosixPath(work), header=[])
    (work / script.SCRIPT).write_text(text)
    subprocess.run(["bash", script.SCRIPT], cwd=work, check=True)
    assert (work / "args").read_text() == repr([hostile])
    assert not list(tmp_path.rglob("pwned"))
    assert (work / script.EXIT).read_text().strip() == "0"


def test_wrapper_records_exit_code_times_and_peak_memory(tmp_path: Path) -> None:
    work = tmp_path / "w"
    (work / script.META).mkdir(parents=True)
    argv = ["python3", "-c", "b = bytearray(60 * 1024 * 1024); import sys; print('hi'); sys.exit(5)"]
    (work / script.SCRIPT).write_text(script.render(_task(argv), PurePosixPath(work), header=[]))
    proc = subprocess.run(["bash", script.SCRIPT], cwd=work)
    assert proc.returncode == 5
    assert (work / script.EXIT).read_text().strip() == "5"
    assert (work / script.STDOUT).read_text() == "hi\n"
    assert int((work / ".mso/peak_memory_kb").read_text().split()[-1]) > 60 * 1024
    assert (work / ".mso/started").read_text() <= (work / ".mso/ended").read_text()


def test_walltime_is_enforced_with_exit_124(tmp_path: Path) -> None:
    work = tmp_path / "w"
    (work / script.META).mkdir(parents=True)
    task = _task(["sleep", "30"])
    (work / script.SCRIPT).write_text(script.render(task, PurePosixPath(work), header=[],
                                                    timeout="00:00:01"))
    proc = subprocess.run(["bash", script.SCRIPT], cwd=work, timeout=20)
    assert proc.returncode == 124 and (work / script.EXIT).read_text().strip() == "124"


def test_failed_module_load_records_98(tmp_path: Path) -> None:
    work = tmp_path / "w"
    (work / script.META).mkdir(parents=True)
    text = script.render(_task(["true"]), PurePosixPath(work), header=[], modules=("nosuch/1",))
    (work / script.SCRIPT).write_text("module() { return 1; }\n" + text.split("\n", 1)[1])
    proc = subprocess.run(["bash", script.SCRIPT], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 98 and "module load nosuch/1 failed" in proc.stderr
    assert (work / script.EXIT).read_text().strip() == "98"


@pytest.mark.parametrize("text,seconds", [("00:10:00", 600), ("1-02:03:04", 93784), ("100:00:00", 360000)])
def test_walltime_seconds(text: str, seconds: int) -> None:
    assert script.walltime_seconds(text) == seconds


def test_step_input_on_the_same_host_is_copied_by_the_job(tmp_path: Path) -> None:
    from runner.plan.resolve import StagedInput
    run = tmp_path / "run"
    (run / "first-0000" / "out dir").mkdir(parents=True)
    (run / "first-0000" / "out dir" / "f.txt").write_text("from first")
    work = run / "second-0000"
    (work / script.META).mkdir(parents=True)
    staged = StagedInput("previous", "inputs/previous/f.txt", step_task="first-0000",
                         step_path="out dir/f.txt", same_place=True)
    task = TaskPlan(id="second-0000", step="second", index=0, application="a@1",
                    infrastructure="x", parameters=freeze({}), inputs=(staged,),
                    argv=("cat", "inputs/previous/f.txt"))
    (work / script.SCRIPT).write_text(script.render(task, PurePosixPath(work), header=[]))
    assert subprocess.run(["bash", script.SCRIPT], cwd=work).returncode == 0
    assert (work / script.STDOUT).read_text() == "from first"
    (run / "first-0000" / "out dir" / "f.txt").unlink()
    (work / "inputs" / "previous" / "f.txt").unlink()
    proc = subprocess.run(["bash", script.SCRIPT], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 96 and "input previous: ../first-0000/out dir/f.txt is missing" in proc.stderr
