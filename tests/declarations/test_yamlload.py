"""The YAML loader: values, line numbers, and everything a declaration must never contain."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from yaml.nodes import Node

from runner.errors import SpecError
from runner.declarations import yamlload
from runner.declarations.yamlload import crumbs, parse


def fails(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse(text, "x.yaml")
    return info.value


def test_values_and_where_they_are() -> None:
    doc = parse("# comment\nname: a\nmatrix:\n  nu: [1, 2.5]\n  n:\n    - 8\n", "x.yaml")
    assert doc.data == {"name": "a", "matrix": {"nu": [1, 2.5], "n": [8]}}
    assert str(doc.where(("matrix", "nu", 1))) == "x.yaml:4:11: matrix.nu[1]"
    assert str(doc.where(("matrix", "n"), on_key=True)) == "x.yaml:5:3: matrix.n"
    assert str(doc.where(("matrix", "n", 0))) == "x.yaml:6:7: matrix.n[0]"
    # a key that is not there: the deepest part that is, with the full breadcrumb
    assert str(doc.where(("matrix", "cfl"))) == "x.yaml:4:3: matrix.cfl"
    assert str(doc.where(())) == "x.yaml:2:1"


def test_crumbs() -> None:
    assert crumbs(("steps", 2, "inputs", "initial")) == "steps[2].inputs.initial"
    assert crumbs(()) == ""


def test_yaml_1_1_words_quoted_or_not_across_files() -> None:
    reader = yamlload.Reader()  # one cache for both texts: it must key on the quoting
    first = reader.parse('a: yes\nb: "yes"\nc: 010\nd: "1.10"\ne: 1.10\nf: ~\n', "x.yaml").data
    again = reader.parse('b: "yes"\na: yes\n', "y.yaml").data
    assert first == {"a": True, "b": "yes", "c": 8, "d": "1.10", "e": 1.1, "f": None}
    assert again == {"a": True, "b": "yes"}


def test_dates_stay_text_and_merge_keys_work() -> None:
    data = parse("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nday: 2024-01-02\n", "x").data
    assert data["other"] == {"x": 1, "y": 3}
    assert data["day"] == "2024-01-02"


def test_a_document_holds_no_node_tree_until_a_position_is_asked_for() -> None:
    """Node trees held for a whole load kept the garbage collector busy (see yamlload)."""
    doc = parse("name: a\nmatrix: {nu: [1, 2]}\n", "x.yaml")
    assert not any(isinstance(v, Node) for v in vars(doc).values())
    assert str(doc.where(("matrix", "nu", 1))) == "x.yaml:2:18: matrix.nu[1]"


def test_where_through_aliases_and_merges() -> None:
    doc = parse("base: &b {x: 1, y: [2, 3]}\nalias: *b\nother:\n  <<: *b\n  y: 4\n", "x")
    assert str(doc.where(("alias", "y", 1))) == "x:1:24: alias.y[1]"  # where the anchor's is
    assert str(doc.where(("alias", "x"), on_key=True)) == "x:1:11: alias.x"
    assert str(doc.where(("other", "x"))) == "x:4:3: other.x"  # merged: the map that merges
    assert str(doc.where(("other", "y"))) == "x:5:6: other.y"  # its own key wins
    assert str(doc.where(("other", "y"), on_key=True)) == "x:5:3: other.y"
    assert str(doc.where(("base", "y", 7))) == "x:1:20: base.y[7]"


def test_duplicate_key() -> None:
    err = fails("name: a\nmatrix: {}\nname: b\n")
    assert (err.where.line, err.where.col) == (3, 1)
    assert "duplicate key 'name' (first at line 1)" in err.render()


@pytest.mark.parametrize("text, line, tag", [
    ('name: !!python/object/apply:os.system ["true"]\n', 1, "!!python/object/apply:os.system"),
    ("a: 1\nb: !!binary aGVsbG8=\n", 2, "!!binary"),
    ("a: !custom 3\n", 1, "!custom"),
    ("a: !!set {x, y}\n", 1, "!!set"),
    ('!!python/object:os.system {}\n', 1, "!!python/object:os.system"),
])
def test_tags_are_refused(text: str, line: int, tag: str) -> None:
    err = fails(text)
    assert err.where.line == line and f"the tag {tag} is not allowed" in err.message


def test_python_tags_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    fails(f'a: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert not marker.exists()


@pytest.mark.parametrize("text, message", [
    ("n: !!int abc\n", "'abc' is not a valid !!int"),
    ("b: !!bool maybe\n", "'maybe' is not a valid !!bool"),
    ("f: !!float x\n", "'x' is not a valid !!float"),
])
def test_explicit_standard_tags_with_bad_values(text: str, message: str) -> None:
    assert fails(text).message == message


def test_billion_laughs() -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, cur in zip("abcdefghi", "bcdefghij"):
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 10)}]")
    start = time.monotonic()
    err = fails("\n".join(lines) + "\n")
    assert time.monotonic() - start < 1
    assert "aliases" in err.message and err.where.breadcrumb in "bcdefghij"
    assert err.where.line == "abcdefghij".index(err.where.breadcrumb) + 1


def test_aliases_within_limits_are_fine() -> None:
    data = parse("x: &x {a: 1}\ny: *x\n", "x").data
    assert data == {"x": {"a": 1}, "y": {"a": 1}}


@pytest.mark.parametrize("text", [
    "a: " + "[" * 100 + "]" * 100 + "\n",
    "a:\n" + "".join("  " * (i + 1) + "-\n" for i in range(200)),
    "a: " + "{b: " * 60 + "1" + "}" * 60 + "\n",
])
def test_deep_nesting(text: str) -> None:
    err = fails(text)
    assert "nested more than" in err.message or "nesting depth" in err.message
    assert len(err.where.breadcrumb) < 80


def test_libyaml_nesting_limit_is_an_error_not_a_crash() -> None:
    err = fails("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert err.where.line == 1 and "YAML" in err.message


@pytest.mark.parametrize("text", ["", "\n", "# just a comment\n", "---\n"])
def test_empty(text: str) -> None:
    err = fails(text)
    assert err.message == "the file is empty" and err.where.line == 1


@pytest.mark.parametrize("text, word", [("- a\n- b\n", "a list"), ("hello\n", "a string"),
                                        ("42\n", "a number"), ("true\n", "a boolean"),
                                        ("--- ~\n", "nothing (null)")])
def test_top_level_must_be_a_map(text: str, word: str) -> None:
    assert fails(text).message == f"expected a map of keys at the top level, got {word}"


def test_keys_must_be_plain() -> None:
    err = fails("? [a, b]\n: 1\n")
    assert err.message == "a key must be a plain word"


def test_tabs_get_a_hint() -> None:
    err = fails("name: a\nresources:\n\ttasks: 1\n")
    assert err.where.line == 3 and "tabs" in err.hint


def test_syntax_error_position() -> None:
    err = fails("name: a\ndescription: b: c\n")
    assert (err.where.line, err.where.col) == (2, 15)
    assert err.message.startswith("YAML syntax error: ")


def load_file(path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        yamlload.Reader().load(path, path.name)
    return info.value


def test_binary_and_bad_utf8(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_bytes(b"name: x\nblob: \x00\x01\n")
    err = load_file(tmp_path / "b.yaml")
    assert err.where.line == 2 and "binary" in err.message
    (tmp_path / "u.yaml").write_bytes(b"name: x\ndescription: caf\xe9 au lait\n")
    err = load_file(tmp_path / "u.yaml")
    assert (err.where.line, err.where.col) == (2, 17) and "not valid UTF-8 (byte 0xe9)" in err.message


def test_huge_file_is_refused_without_reading_it(tmp_path: Path, monkeypatch) -> None:
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:  # sparse: 8 GiB that take no room and would take long to read
        fh.truncate(8 << 30)
    reads = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: reads.append(a) or real_open(*a, **k))
    start = time.monotonic()
    err = load_file(big)
    assert time.monotonic() - start < 1 and not reads
    assert err.message == "the file is 8192.0 MB; a declaration may be at most 1 MB"
    assert err.where.line == 1


def test_file_that_grows_past_the_limit_while_read(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "g.yaml"
    path.write_bytes(b"a: " + b"x" * (2 << 20) + b"\n")
    real_stat = os.stat
    monkeypatch.setattr(yamlload.os, "stat", lambda p: os.stat_result(
        (*real_stat(p)[:6], 10, *real_stat(p)[7:])))  # stat claims 10 bytes
    assert "at most 1 MB" in load_file(path).message


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p.yaml")
    assert load_file(tmp_path / "p.yaml").message == "not a regular file"


def test_missing_file(tmp_path: Path) -> None:
    assert "cannot read the file" in load_file(tmp_path / "none.yaml").message
