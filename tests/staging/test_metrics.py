"""Result metrics read from a task's collected folder: JSON objects and CSV last rows, restricted
to named fields; a bad file is a warning, never an exception."""

from __future__ import annotations

import json
import os
from pathlib import Path

from runner.declarations.models import ResultFile
from runner.secrets import Secrets
from runner.staging import metrics

NONE = Secrets(environ={})


def _read(work: Path, *files: ResultFile, secrets: Secrets = NONE):
    return metrics.read(work, files, secrets)


def test_json_scalars_nested_objects_are_dotted_lists_and_nulls_left_out(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out/summary.json").write_text(json.dumps({
        "n": 32, "max_error": 1.5e-4, "ok": True, "method": "ftcs", "skipped": None,
        "history": [1, 2, 3], "error": {"max": 0.25, "l2": {"rel": 0.5}}, "nan": float("nan")}))
    found, warnings = _read(tmp_path, ResultFile("out/summary.json"))
    assert found == {"n": 32, "max_error": 1.5e-4, "ok": True, "method": "ftcs",
                     "error.max": 0.25, "error.l2.rel": 0.5}
    assert warnings == []


def test_fields_keep_only_those_and_name_the_absent_ones(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"a": 1, "b": 2, "c": {"d": 3}}')
    found, warnings = _read(tmp_path, ResultFile("s.json", ("c.d", "a", "zz")))
    assert found == {"c.d": 3, "a": 1}
    assert warnings == ["result file s.json has no zz"]


def test_csv_reads_the_header_and_the_last_row(tmp_path: Path) -> None:
    (tmp_path / "conv.csv").write_text("step,error,method,rate\n1,0.5,ftcs,2\n"
                                       "2,-1.25e-3,ftcs, 3.5 \n\n")
    found, warnings = _read(tmp_path, ResultFile("conv.csv"))
    assert found == {"step": 2, "error": -1.25e-3, "method": "ftcs", "rate": 3.5}
    assert isinstance(found["step"], int) and warnings == []
    (tmp_path / "odd.csv").write_text("a,b,c,d\n1_000,nan,,0x10\n")
    found, _ = _read(tmp_path, ResultFile("odd.csv", ("a", "b", "c", "d")))
    assert found == {"a": "1_000", "d": "0x10"}   # only plain decimal numbers are numbers


def test_several_files_add_up(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"x": 1}')
    (tmp_path / "b.csv").write_text("y\n2\n")
    assert _read(tmp_path, ResultFile("a.json"), ResultFile("b.csv")) == ({"x": 1, "y": 2}, [])


def test_bad_files_are_warnings(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "broken.json").write_text('{"a": ')
    (tmp_path / "header.csv").write_text("a,b\n")
    (tmp_path / "latin.json").write_bytes(b'{"a": "\xe9"}')
    (tmp_path / "big.json").write_text('{"a": "' + "x" * metrics.MAX_BYTES + '"}')
    files = [ResultFile(f) for f in ("missing.json", "list.json", "broken.json", "header.csv",
                                     "latin.json", "big.json")]
    found, warnings = _read(tmp_path, *files)
    assert found == {}
    said = "\n".join(warnings)
    for text in ("missing.json was not produced", "list.json holds a JSON list, not an object",
                 "broken.json is not valid JSON", "header.csv has no data row",
                 "latin.json is not UTF-8", f"more than the {metrics.MAX_BYTES} read"):
        assert text in said
    assert len(warnings) == len(files)


def test_a_result_file_linking_outside_the_work_dir_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.json"
    secret.write_text('{"token": "abc"}')
    work = tmp_path / "work"
    work.mkdir()
    os.symlink(secret, work / "summary.json")
    found, warnings = _read(work, ResultFile("summary.json"))
    assert found == {} and "points outside the work dir" in warnings[0]


def test_at_most_200_metrics_and_text_cut_short(tmp_path: Path) -> None:
    (tmp_path / "many.json").write_text(json.dumps({f"m{i:03d}": i for i in range(250)}))
    found, warnings = _read(tmp_path, ResultFile("many.json"))
    assert len(found) == metrics.MAX_METRICS and "m199" in found and "m200" not in found
    assert "250 metrics" in warnings[0] and "fields" in warnings[0]
    (tmp_path / "long.json").write_text(json.dumps({"long": "y" * 500}))
    found, _ = _read(tmp_path, ResultFile("long.json"))
    assert len(found["long"]) == metrics.MAX_TEXT


def test_secret_values_are_masked(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"note": "token=hunter2-secret", "hunter2-secret": 1}')
    secrets = Secrets(frozenset({"MY_TOKEN"}), {"MY_TOKEN": "hunter2-secret"})
    found, _ = _read(tmp_path, ResultFile("s.json"), secrets=secrets)
    assert "hunter2-secret" not in json.dumps(found)
    assert found["note"].startswith("token=") and len(found) == 2
