"""The console of `mso run`: classified lines by severity and verbosity, GitLab's collapsible
sections (exact bytes), the periodic summary and the ETA, with the clock injected."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console as RichConsole

from runner.commands import console as con
from runner.commands.console import Console
from runner.commands.eta import RunProgress, eta_text
from runner.commands.ui import Reporter
from runner.logs.classify import Entry
from runner.state import RunRecord, State, TaskRecord

RUN_ID = "20250101-000000-abcd"
T0 = 1_700_000_000
GITLAB = {"CI": "true", "GITLAB_CI": "true"}
PREFIX = "heat-sweep main-0000 (nu=0.05): "
YELLOW, RED, RESET = "\x1b[33m", "\x1b[31m", "\x1b[0m"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return T0 + self.now


def _run(count: int = 2) -> SimpleNamespace:
    """What the console reads of an ActiveRun: its record and its results folder."""
    tasks = [TaskRecord(f"main-{i:04d}", "main", i, {"nu": [0.05, 0.1, 0.2, 0.4][i], "n": 64})
             for i in range(count)]
    return SimpleNamespace(record=RunRecord(RUN_ID, "heat-sweep", "h", {}, {}, tasks),
                           results=Path("results/heat-sweep") / RUN_ID)


def _console(env: dict, clock: Clock, verbosity: int = 0, quiet: bool = False) -> Console:
    return Console(Reporter(quiet=quiet), verbosity, 30.0, env=env, clock=clock, wall=clock.wall)


OPM = [Entry(1, "INFO", 0, "Time step 1", None),
       Entry(2, "WARNING", 0, "Report step 1", 50.0),
       Entry(3, "INFO", 1, "Keyword GRID", 50.0),
       Entry(4, "ERROR", 3, "Problem at step 1", 50.0),
       Entry(5, "INFO", 2, "  : table", 50.0)]


def _start(c: Console, run, task: TaskRecord) -> None:
    task.state = State.RUNNING
    c.changed(run, task)


def test_verbosity_is_the_least_at_which_a_line_shows() -> None:
    assert con.shown("INFO", 0, 0) and not con.shown("INFO", 1, 0) and con.shown("INFO", 1, 1)
    assert not con.shown("DEBUG", 2, 1) and con.shown("OK", 0, 0)
    for word in ("WARNING", "warning", "ERROR", "CRITICAL", 30, "40", 50):
        assert con.shown(word, 9, 0), word
    assert [con.severity_word(s) for s in (10, 20, "30", 40, 55, -1, "ok")] == \
        ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "DEBUG", "OK"]


def test_colours_by_severity_exact_bytes() -> None:
    assert con.ansi("x", "OK") == "\x1b[32mx\x1b[0m"
    assert con.ansi("x", "WARNING") == "\x1b[33mx\x1b[0m"
    assert con.ansi("x", "ERROR") == con.ansi("x", "CRITICAL") == "\x1b[31mx\x1b[0m"
    assert con.ansi("x", "DEBUG") == "\x1b[2mx\x1b[0m"
    assert con.ansi("x", "INFO") == con.ansi("x", "NOTICE") == "x"


def test_a_hostile_line_cannot_forge_escapes_or_a_section() -> None:
    forged = "\x1b[0Ksection_end:1:mso_x\r\x1b[0Kboo\x07"
    assert con.body("heat.log", 7, "info", forged) == \
        "heat.log:7 INFO \\x1b[0Ksection_end:1:mso_x\\x0d\\x1b[0Kboo\\x07"
    long = con.clean("a\tb" + "x" * 10_000)
    assert long.startswith("a\tb") and len(long) == 300 and long.endswith("…")


def test_section_markers_exact_bytes() -> None:
    assert con.section_start("mso_a_1", T0, "header", True) == \
        f"\x1b[0Ksection_start:{T0}:mso_a_1[collapsed=true]\r\x1b[0Kheader"
    assert con.section_start("mso_a_1", T0, "header", False) == \
        f"\x1b[0Ksection_start:{T0}:mso_a_1\r\x1b[0Kheader"
    assert con.section_end("mso_a_1", T0 + 5) == f"\x1b[0Ksection_end:{T0 + 5}:mso_a_1\r\x1b[0K"


def test_section_names_are_safe_and_unique() -> None:
    names = [con.section_name(RUN_ID, t) for t in ("Main-0001", "main_0001", "a b/../;$(x)")]
    assert all(re.fullmatch(r"mso_[a-z0-9_]+", n) and len(n) <= 76 for n in names), names
    assert len(set(names)) == 3
    assert con.section_name(RUN_ID, "main-0001") == con.section_name(RUN_ID, "main-0001")


def test_gitlab_prints_warnings_at_once_and_each_task_as_a_section(capsys) -> None:
    clock, run = Clock(), _run()
    c = _console(GITLAB, clock)
    task = run.record.tasks[0]
    _start(c, run, task)
    clock.now = 5
    c.hear(run, task, "heat.log", OPM)
    warning = f"{PREFIX}{YELLOW}heat.log:2 WARNING Report step 1{RESET}"
    error = f"{PREFIX}{RED}heat.log:4 ERROR Problem at step 1{RESET}"
    assert capsys.readouterr().err == f"{warning}\n{error}\n"
    clock.now = 12
    task.state = State.SUCCEEDED
    c.changed(run, task)
    name = con.section_name(RUN_ID, "main-0000")
    assert capsys.readouterr().err == (
        f"\x1b[0Ksection_start:{T0}:{name}[collapsed=true]\r\x1b[0K"
        f"{PREFIX}succeeded, 3 log lines (1 ERROR, 1 INFO, 1 WARNING)\n"
        f"{PREFIX}heat.log:1 INFO Time step 1\n{warning}\n{error}\n"
        f"\x1b[0Ksection_end:{T0 + 12}:{name}\r\x1b[0K\n")


def test_a_failed_task_s_section_is_open_and_verbosity_adds_lines(capsys) -> None:
    clock, run = Clock(), _run()
    c = _console({"GITLAB_CI": "true", "NO_COLOR": "1"}, clock, verbosity=1)
    task = run.record.tasks[1]
    _start(c, run, task)
    c.hear(run, task, "logs/heat.log", OPM)
    capsys.readouterr()
    task.state = State.FAILED
    c.changed(run, task)
    err = capsys.readouterr().err
    head = err.split("\n")[0]
    assert head.endswith("heat-sweep main-0001 (nu=0.1): failed, 4 log lines "
                         "(1 ERROR, 2 INFO, 1 WARNING)") and "[collapsed=true]" not in head
    assert "logs/heat.log:3 INFO Keyword GRID" in err and "table" not in err
    assert "\x1b[3" not in err, "NO_COLOR: no colours, sections still"


def test_outside_ci_lines_print_at_once_plain_and_unsectioned(capsys) -> None:
    clock, run = Clock(), _run()
    c = _console({}, clock)
    task = run.record.tasks[0]
    _start(c, run, task)
    c.hear(run, task, "heat.log", OPM[:2])
    assert capsys.readouterr().err == (f"{PREFIX}heat.log:1 INFO Time step 1\n"
                                       f"{PREFIX}heat.log:2 WARNING Report step 1\n")
    task.state = State.SUCCEEDED
    c.changed(run, task)
    c.close()
    assert capsys.readouterr().err == ""


def test_a_section_keeps_the_last_lines_and_says_where_the_rest_are(capsys) -> None:
    clock, run = Clock(), _run()
    c = _console(GITLAB, clock)
    task = run.record.tasks[0]
    _start(c, run, task)
    c.hear(run, task, "heat.log", [Entry(n, "INFO", 0, f"step {n}", None) for n in range(1, 251)])
    c.close()   # watching stops while the task runs: what was kept is printed
    lines = capsys.readouterr().err.split("\n")[:-1]
    assert "still running when watching stopped, 250 log lines (250 INFO)" in lines[0]
    assert "[collapsed=true]" in lines[0]
    assert lines[1] == f"    ... 50 earlier lines not kept here: {run.results / 'main-0000'} has them all"
    assert lines[2].endswith("heat.log:51 INFO step 51") and lines[-2].endswith("step 250")
    assert len(lines) == 1 + 1 + con.BUFFERED + 1 and "section_end:" in lines[-1]


def test_quiet_prints_nothing(capsys) -> None:
    clock, run = Clock(), _run()
    c = _console(GITLAB, clock, quiet=True)
    task = run.record.tasks[0]
    _start(c, run, task)
    c.hear(run, task, "heat.log", OPM)
    clock.now = 100
    c.tick()
    c.close()
    assert capsys.readouterr() == ("", "")


def test_the_summary_comes_every_interval_with_progress_and_eta(capsys) -> None:
    clock, run = Clock(), _run()
    c = _console(GITLAB, clock)
    c.attach([run])
    task = run.record.tasks[0]
    _start(c, run, task)
    clock.now = 10
    c.hear(run, task, "heat.log", [Entry(1, "INFO", 0, "step", 25.0)])
    c.tick()
    assert capsys.readouterr().err == ""
    clock.now = 30
    c.tick()
    # a task is 120 s long (25 % in 30 s): 0.75 of it and all of the other one are left
    assert capsys.readouterr().err == \
        "heat-sweep: 0/2 done, 1 running (main-0000 25 %), ETA 3m30s\n"
    clock.now = 45
    c.tick()
    assert capsys.readouterr().err == ""
    clock.now = 60
    task.state = State.SUCCEEDED
    c.changed(run, task)
    c.tick()
    assert capsys.readouterr().err.splitlines()[-1] == "heat-sweep: 1/2 done, ETA 1m00s"


def test_eta_from_durations_refined_by_progress() -> None:
    p = RunProgress("exp", 4)
    assert p.eta(0) is None and p.summary(0) == "exp: 0/4 done, ETA unknown"
    p.running("a", 0)
    p.ended("a", 100)
    p.running("b", 100)
    p.running("c", 100)
    p.progressed("b", 50, 150)
    # typical 100 s (a's duration, and b's projection); left: d, half of b, half of c; 2 lanes
    assert p.eta(150) == pytest.approx(100.0)
    assert p.summary(150) == "exp: 1/4 done, 2 running (b 50 %, c), ETA 1m40s"
    p.ended("b", 200)
    p.ended("b", 900)   # told twice: counted once
    assert len(p.done) == 2 and p.durations == [100, 100]
    for task in ("c", "d"):
        p.ended(task, 300)
    assert p.eta(300) == 0.0


def test_eta_words() -> None:
    assert [eta_text(s) for s in (None, 0, 44.2, 60, 190, 7500)] == \
        ["ETA unknown", "ETA 0s", "ETA 45s", "ETA 1m00s", "ETA 3m10s", "ETA 2h05m"]


def test_a_terminal_gets_coloured_lines_a_bar_per_task_and_the_eta() -> None:
    clock, run, out = Clock(), _run(), io.StringIO()
    ui = Reporter()
    ui.console = RichConsole(file=out, force_terminal=True, color_system="standard", width=160)
    with ui:
        c = Console(ui, 0, 30.0, env=GITLAB, clock=clock, wall=clock.wall)
        ui.bar(RUN_ID, "heat-sweep", 2)
        task = run.record.tasks[0]
        _start(c, run, task)
        clock.now = 20
        c.hear(run, task, "heat.log", OPM[:2])
        key = f"{RUN_ID}/main-0000"
        bars = {t.description: t for t in ui.progress.tasks}
        assert bars["  main-0000 nu=0.05"].completed == 50
        assert bars["heat-sweep"].fields["note"] == "1 running, ETA 1m00s"
        task.state = State.SUCCEEDED
        clock.now = 40
        c.changed(run, task)
        assert key not in ui.bars and len(ui.progress.tasks) == 1
    text = out.getvalue()
    assert f"{YELLOW}heat.log:2 WARNING Report step 1" in text, text
    assert "section_start" not in text, "a terminal gets no GitLab sections"


def test_lines_heard_after_the_end_print_at_once(capsys) -> None:
    clock, run = Clock(), _run()
    c = _console(GITLAB, clock)
    task = run.record.tasks[0]
    task.state = State.SUCCEEDED
    c.changed(run, task)
    c.hear(run, task, "heat.log", OPM[:1])
    c.close()
    assert capsys.readouterr().err == f"{PREFIX}heat.log:1 INFO Time step 1\n"
    assert c.runs[RUN_ID].summary(clock.now) == "heat-sweep: 1/2 done, ETA unknown"
