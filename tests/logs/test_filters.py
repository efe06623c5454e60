"""MSO4SC's filters as its probe (remotelogger-cli) applied them: OPM Flow's list verbatim against
`grep` over the same log, integer severities, `action`, `skip`, free attributes, and a pattern
that would backtrack for hours."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

from runner.declarations.logfilters import specs
from runner.declarations.models import LogFilter, freeze
from runner.logs.classify import MAX_TIMEOUTS, Classifier, classify, from_jsonl, to_jsonl
from tests.conftest import ROOT
from tests.logs.opm import END, FILTERS_YAML, lines

# remotelogger-cli's own test filter file (test/filter.yaml), as it was written there
REMOTELOGGER = """\
[
    {
        "filename": log.txt,
        "filters": [
            {pattern: "^h", verbosity: 1, severity: 1, progress: 1},
            {pattern: "^b", verbosity: 2, severity: 2, progress: 2}
        ]
    },
    {
        "filename": log2.txt,
        "filters": [
            {pattern: "^5", verbosity: 3, severity: 3, progress: 3},
            {pattern: "^q", verbosity: 4, severity: 4, progress: 4}
        ]
    }
]
"""


def filters_of(text: str) -> list[tuple]:
    return [spec.filters for spec in specs(None, yaml.safe_load(text))]


def grep_count(path: Path, *patterns: str) -> int:
    args = [a for p in patterns for a in ("-e", p)]
    out = subprocess.run(["grep", "-cE", *args, str(path)], capture_output=True, text=True)
    assert out.returncode in (0, 1), out.stderr
    return int(out.stdout)


def test_opm_flow_counts_per_severity_equal_grep(tmp_path: Path) -> None:
    log = tmp_path / "flow.log"
    log.write_text("".join(f"{line}\n" for line in lines(20_000)))
    (opm,) = filters_of(FILTERS_YAML)
    entries = list(classify(log.read_text().splitlines(), opm, expected_steps=None))
    counts = Counter(e.severity for e in entries)
    ok = grep_count(log, "^================    End of simulation     ===============")
    warning = grep_count(log, "^Report step")
    info = grep_count(log, "^Time step")
    total = len(log.read_text().splitlines())
    assert (counts["OK"], counts["WARNING"]) == (ok, warning) == (1, warning) and warning > 100
    # every other line meets a verbosity filter without severity: INFO, mso's default
    assert counts["INFO"] == total - ok - warning and info > 100
    assert len(entries) == total          # the catch-all classifies every line
    # the verbosity 2 filters classify what the ones before them leave (the banner is a `=` line)
    before = grep_count(log, "^================    End of simulation     ===============",
                        "^Time step", "^Report step", "^[[:space:]]*[:|=]", "^Keyword")
    assert Counter(e.verbosity for e in entries)[2] == before - ok - warning - info > 1000
    assert entries[-1].text == END and entries[-1].progress == 100.0


def test_opm_relative_progress_reaches_the_end() -> None:
    (opm,) = filters_of(FILTERS_YAML)
    text = list(lines(400))
    reports = sum(t.startswith("Report step") for t in text)
    progress = [e.progress for e in classify(text, opm, expected_steps=reports * 2)]
    assert progress[-2] == 50.0 and progress[-1] == 100.0     # halfway, then the banner says 100


def test_remotelogger_integer_severities_and_absolute_progress() -> None:
    log1, log2 = filters_of(REMOTELOGGER)
    got = [(e.text, e.severity, e.verbosity, e.progress)
           for e in classify(["hello", "bye", "nothing"], log1)]
    assert got == [("hello", "INFO", 1, 1.0), ("bye", "WARNING", 2, 2.0)]
    got = [(e.severity, e.verbosity) for e in classify(["5 errors", "quit", "x"], log2)]
    assert got == [("ERROR", 3), ("OK", 4)]


def test_action_match_search_fullmatch() -> None:
    text = ["run failed: error 3", "error at start", "error"]
    for action, expected in (("match", [2, 3]), ("search", [1, 2, 3]), ("fullmatch", [3])):
        found = classify(text, [LogFilter("error", "ERROR", action=action)])
        assert [e.line for e in found] == expected, action


def test_skip_drops_lines_and_the_first_filter_wins() -> None:
    filters = filters_of("""
- filename: a.log
  filters:
    - {pattern: "DEBUG", action: search, skip: true}
    - {pattern: "^step", severity: INFO, progress: "+1"}
    - {pattern: "^step", severity: ERROR}
    - {pattern: "warn", action: search, severity: WARNING}
""")[0]
    text = ["step 1", "step 2 DEBUG", "a warning", "DEBUG warn", "step 3"]
    got = [(e.line, e.severity, e.progress) for e in classify(text, filters, expected_steps=4)]
    assert got == [(1, "INFO", 25.0), (3, "WARNING", 25.0), (5, "INFO", 50.0)]


def test_free_attributes_are_kept_with_the_line_and_written() -> None:
    (filters,) = filters_of("""
- path: a.log
  filters:
    - {pattern: "^conv", severity: INFO, stage: solver, tags: [newton, 2]}
    - {pattern: "^x"}
""")
    entries = list(classify(["converged", "x", "y"], filters))
    assert dict(entries[0].attributes) == {"stage": "solver", "tags": (("newton", 2))}
    written = to_jsonl(entries)
    first, second = (json.loads(line) for line in written.splitlines())
    assert first["attributes"] == {"stage": "solver", "tags": ["newton", 2]}
    assert "attributes" not in second                     # as files were written before
    assert [dict(e.attributes) for e in from_jsonl(written)] == [first["attributes"], {}]


def test_a_pattern_out_of_time_warns_once_and_leaves_lines_unclassified() -> None:
    f = LogFilter(r"(a|aa)+$", "ERROR", where="applications/x.yaml:12:18")
    c = Classifier([f, LogFilter("a", "INFO")])
    hostile = "a" * 40 + "b"
    assert c.classify(1, hostile) is None
    assert c.classify(2, "aaa").severity == "ERROR"      # lines it decides, it classifies
    assert [c.classify(n, hostile) for n in range(3, 5)] == [None] * 2   # out of time: 3 times
    assert c.classify(5, hostile).severity == "INFO"     # skipped: the next filter decides
    assert c.classify(6, "aaa").severity == "INFO"
    assert c.warnings == [
        "applications/x.yaml:12:18: warning: the pattern '(a|aa)+$' ran out of time on line 1 "
        f"of the log; such lines stay unclassified, and after {MAX_TIMEOUTS} the filter is "
        "skipped (the filters after it classify the lines)"]
    assert c.take_warnings() == c.warnings and c.take_warnings() == []


def test_catastrophic_backtracking_returns() -> None:
    """`(a+)+$` on 30 `a`s and a `b`: Python's `re` would take hours; the classifier returns
    (in a process, so that a hang fails the test instead of stalling it)."""
    code = ("from runner.declarations.models import LogFilter\n"
            "from runner.logs.classify import classify\n"
            "e = list(classify(['a' * 30 + 'b', 'aaa'], [LogFilter('(a+)+$', 'ERROR')]))\n"
            "print([(x.line, x.severity) for x in e])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[(2, 'ERROR')]"


def test_lines_classified_in_batches_are_classified_as_one_at_a_time(monkeypatch) -> None:
    """Classifier.entries (C-level batches, runner/logs/batch.py) against classify() line by
    line: skip, relative and absolute progress, unmatched lines, free attributes, a line too
    long for the batch, across batch boundaries."""
    from runner.declarations.patterns import LONG
    from runner.logs import batch
    monkeypatch.setattr(batch, "BATCH", 7)
    filters = [LogFilter("^done", "OK", progress=100), LogFilter("^step", "INFO", progress="+1"),
               LogFilter("^noise", skip=True, progress="+5"),
               LogFilter("^warn", "WARNING", attributes=freeze({"k": "v"})),
               LogFilter("^ *[:=]", verbosity=2)]
    lines = [f"{kind} {i}" for i in range(40) for kind in ("step", "noise", "other", "warn", " :x")]
    lines[23] = "step " + "x" * (LONG + 1)
    lines.append("done")
    one = Classifier(filters, expected_steps=50)
    expected = [e for n, text in enumerate(lines, 1) if (e := one.classify(n, text)) is not None]
    many = Classifier(filters, expected_steps=50)
    assert many._batches is not None
    assert list(many.entries(lines)) == expected and many.progress == one.progress == 100.0
