"""Live tailing on real files through real bash (runner/staging/live.py and history.py): growth,
partial lines, truncation, rotation, a resumed reader, caps, hostile bytes, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

from runner.declarations.models import LogFilter, LogSpec
from runner.logs.classify import from_jsonl
from runner.secrets import MASK, Secrets
from runner.staging import history, live
from runner.transports.local import LocalTransport

FILTERS = (LogFilter("^Report step", "WARNING", 0, "+1"), LogFilter("^Time step", "INFO"),
           LogFilter("^End", "OK", 0, 100), LogFilter(r"[\s\S]*", "INFO", 1))
SPEC = LogSpec("app.log", FILTERS)


class Reader:
    """One log followed as the watcher follows it: one command per read, a stream kept."""

    def __init__(self, tmp: Path, secrets: Secrets | None = None, **caps: int) -> None:
        self.tmp, self.caps, self.secrets = tmp, caps, secrets or Secrets()
        self.log = tmp / "work" / "app.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.transport = LocalTransport()
        self.stream = self.open()
        self.answers: list[int] = []

    def open(self) -> history.LogStream:
        return history.LogStream(SPEC, "app.log", 10, self.tmp / "results", self.tmp / "cur.json",
                                 self.secrets)

    def read(self) -> list:
        s = self.stream
        stdin = live.request([live.Want(str(self.log), s.inode, s.pos)])
        out = self.transport.run(live.command(**self.caps), stdin=stdin).check().stdout
        self.answers.append(len(out))
        chunk = live.parse(out).get(str(self.log))
        entries = s.feed(chunk.inode, chunk.start, chunk.data) if chunk else []
        s.record(entries)
        return entries

    def recorded(self) -> list:
        return from_jsonl((self.tmp / "results" / "app.log.jsonl").read_text())

    def write(self, text: str | bytes, mode: str = "a") -> None:
        with open(self.log, mode + "b") as fh:
            fh.write(text.encode() if isinstance(text, str) else text)


def test_lines_arrive_whole_and_a_new_reader_goes_on_without_duplicates(tmp_path: Path) -> None:
    r = Reader(tmp_path)
    assert r.read() == []                      # not written yet
    r.write("Time step 1\nReport st")
    assert [e.text for e in r.read()] == ["Time step 1"]    # the partial line waits
    r.write("ep 1\nReport step 2\n")
    got = r.read()
    assert [(e.line, e.severity, e.progress) for e in got] == [(2, "WARNING", 10.0),
                                                              (3, "WARNING", 20.0)]
    r.write("half a li")
    r.read()
    r.stream = r.open()                        # the runner died; a new one resumes
    r.write("ne\nReport step 3\n")
    assert [(e.line, e.text, e.progress) for e in r.read()] == [(4, "half a line", 20.0),
                                                                (5, "Report step 3", 30.0)]
    assert [e.line for e in r.recorded()] == [1, 2, 3, 4, 5]


def test_a_lost_cursor_reads_again_from_the_start_and_skips_what_is_recorded(tmp_path) -> None:
    r = Reader(tmp_path)
    r.write("Time step 1\nReport step 1\n")
    r.read()
    (tmp_path / "cur.json").unlink()           # a new machine: only results/ came through git
    r.stream = r.open()
    r.write("Report step 2\n")
    assert [(e.line, e.progress) for e in r.read()] == [(3, 20.0)]
    assert r.stream.summary.counts == {"INFO": 1, "WARNING": 2}


def test_rotation_and_truncation_lose_no_line_and_repeat_none(tmp_path: Path) -> None:
    r = Reader(tmp_path)
    r.write("line 1\nline 2\n")
    r.read()
    r.write("line 3\nline 4 without its newline")
    os.rename(r.log, r.log.with_name("app.log.1"))      # rotated: the rest is in app.log.1
    r.write("line 5\n", "w")
    r.read()
    r.read()
    r.write("line 6\n")
    r.read()
    r.write("line 7\n", "w")                  # truncated in place
    r.read()
    r.log.unlink()                             # deleted, then recreated
    r.write("line 8\n")
    r.read()
    texts = [e.text for e in r.recorded()]
    assert texts == ["line 1", "line 2", "line 3", "line 4 without its newline", "line 5",
                     "line 6", "line 7", "line 8"]
    assert [e.line for e in r.recorded()] == list(range(1, 9))


def test_hostile_bytes_a_huge_line_and_the_caps(tmp_path: Path) -> None:
    r = Reader(tmp_path, per_file=1 << 20, total=1 << 20)
    r.write(b"bad \xff\xfe bytes\n" + b"x" * (10 << 20))   # then 10 MB with no newline
    tracemalloc.start()
    while r.stream.pos < r.log.stat().st_size:
        r.read()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20, f"{peak} bytes: memory follows the caps, not the line"
    assert max(r.answers) <= (1 << 20) * 4 // 3 + 200, "one answer: at most the cap, in base64"
    r.write("\nEnd\n")
    r.read()
    got = r.recorded()
    assert got[0].text == "bad \ufffd\ufffd bytes"
    assert len(got[1].text) < history.MAX_LINE + 100 and got[1].text.endswith(
        history.CUT.format(history.MAX_LINE))
    assert [(e.line, e.severity) for e in got[1:]] == [(2, "INFO"), (3, "OK")]
    assert json.loads((tmp_path / "cur.json").read_text())["line"] == 3


def test_a_secret_split_between_two_reads_is_masked(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MSO_T_SECRET", "s3cr3t-value-42")
    r = Reader(tmp_path, Secrets(frozenset({"MSO_T_SECRET"})))
    r.write("token s3cr3t-va")
    r.read()
    r.write("lue-42 used\n")
    [entry] = r.read()
    assert entry.text == f"token {MASK} used"
    assert "s3cr3t" not in (tmp_path / "results" / "app.log.jsonl").read_text()


WRITER = """\
import sys, time
line = ("Report step %d " + "x" * 200 + "\\n")
n = 0
with open(sys.argv[1], "w") as fh:
    for _ in range(20):              # ~30 MB in ~1.5 s: 20 MB/s and more
        for _ in range(7000):
            n += 1
            fh.write(line % n)
        fh.flush()
        time.sleep(0.075)
print(n)
"""


def test_a_log_written_fast_is_read_whole_within_the_caps(tmp_path: Path) -> None:
    r = Reader(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(r.log)], stdout=subprocess.PIPE,
                            text=True)
    while proc.poll() is None:
        r.read()
        assert len(r.stream.held) <= history.MAX_LINE
    while r.stream.pos < r.log.stat().st_size:
        r.read()
    written = int(proc.stdout.read())
    assert r.log.stat().st_size > 20 << 20, "not a fast log"
    assert r.stream.summary.counts == {"WARNING": written}
    assert max(r.answers) <= live.TOTAL * 4 // 3 + 200, "an answer never exceeds the cap"
