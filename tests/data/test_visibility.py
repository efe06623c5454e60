"""The canary: a private dataset on the WebDAV remote, read by a run that publishes its outputs.
Its password, its location and its description appear nowhere: not in results/, the built book
(a real mkdocs build), the merge-request note, the JUnit file, or what the run printed. Its page
shows its name, owners and how to ask for access; the entry published from it is private."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml

from runner.publish import report
from runner.publish.report import Links
from runner.results.records import run_of
from runner.state import load
from tests.conftest import mso
from tests.data.test_publish import READER_APP, READER_PY

LOCATION = "canary-loc-7q2x"
DESCRIPTION = "CANARY-DESC-k93 measured at the undisclosed site"
ACCESS = "Write to ana at the lab to get access."


def _files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file()]


def test_a_private_dataset_leaks_nowhere(counter: Path, remotes) -> None:
    data = b"private field 42\n"
    (remotes.webdav / LOCATION).mkdir()
    (remotes.webdav / LOCATION / "field.txt").write_bytes(data)
    creds = remotes.yaml("dav")
    (counter / "datasets" / "canary-field.yaml").write_text(
        f"name: canary-field\ndescription: {DESCRIPTION}\n"
        f"location: dav:{remotes.folder}/{LOCATION}/field.txt\n"
        f"sha256: {hashlib.sha256(data).hexdigest()}\nsize: {len(data)}\n"
        f"visibility: private\nowners: [ana]\naccess: {ACCESS}\n{creds}")
    (counter / "applications" / "reader").mkdir()
    (counter / "applications" / "reader.yaml").write_text(READER_APP)
    (counter / "applications" / "reader" / "read.py").write_text(READER_PY)
    (counter / "experiments" / "reads.yaml").write_text(
        "name: reads\napplication: reader@1\nowners: [bo]\npublish_outputs: true\n"
        "inputs: {data: canary-field}\n")
    junit = counter / "junit.xml"
    ran = mso("run", "--junit", str(junit), "reads", repo=counter)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    folder = next((counter / "results" / "reads").iterdir())
    record = load(folder / "run.json")
    assert (folder / "main-0000" / "seen.txt").read_bytes() == b"saw " + data
    [name] = record.published
    entry = yaml.safe_load((counter / "datasets" / f"{name}.yaml").read_text())
    assert entry["visibility"] == "private"   # what comes from private data is private
    built = mso("book", "build", "--strict", repo=counter, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    run = run_of(folder, record)
    note = report.note([report.row(run, report.first_error(run))], report.marker("9"), Links(),
                       ("9", None))
    canaries = [remotes.password, LOCATION, DESCRIPTION, os.environ["MSO_TEST_DAV_PASS"]]
    places = {"the console": ran.stdout + ran.stderr + built.stdout + built.stderr,
              "the note": note, "the JUnit file": junit.read_text()}
    assert (counter / "site" / "index.html").is_file()
    for path in _files(counter / "results") + _files(counter / "site") + \
            _files(counter / ".mso" / "book" / "docs"):
        places[str(path)] = path.read_bytes().decode("utf-8", "replace")
    for where, text in places.items():
        for canary in canaries:
            assert canary not in text, f"{canary!r} leaked into {where}"
    page = (counter / ".mso" / "book" / "docs" / "datasets" / "canary-field.md").read_text()
    assert "ana" in page and ACCESS in page and "private" in page
    run_page = next((counter / ".mso/book/docs/runs/reads").glob("*/index.md")).read_text()
    assert f"[{name}](../../../datasets/{name}.md)" in run_page   # published, linked
    made = (counter / ".mso" / "book" / "docs" / "datasets" / f"{name}.md").read_text()
    assert f"run {record.run_id} of reads" in made and "index.md" in made

