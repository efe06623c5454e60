"""The escapes, checked by rendering with Python-Markdown and the extensions a book may enable."""

from __future__ import annotations

import re

import markdown

from runner.book.pages.applications import command_line
from runner.book.schemainfo import bounds, type_of
from runner.results import markdown as md

EXTENSIONS = ["tables", "admonition", "toc", "attr_list", "md_in_html"]
HOSTILE = ["<script>alert(1)</script>|x", "[click](javascript:alert(1))",
           "![img](x onerror=alert(1))", "text {: onclick=\"alert(1)\" }", "<b>bold</b> & co",
           "`code` *em* _u_ \\| back\\slash", "line one\nline two\r\n# heading", "\x1b[31mred\x00"]


def render(source: str) -> str:
    return markdown.markdown(source, extensions=EXTENSIONS)


def test_text_renders_literally_in_a_table_cell() -> None:
    for value in HOSTILE:
        html = render(md.table(("A", "B"), [[md.text(value), "end"]]))
        assert "<script" not in html and "<a " not in html and "<img" not in html
        assert not re.search(r"<[^>]*\sonclick=", html), html   # no attribute from attr_list
        assert "<td>end</td>" in html, f"{value!r} broke the table: {html}"
        assert "<b>" not in html and "<em>" not in html and "<code>" not in html


def test_text_keeps_the_characters() -> None:
    html = render(md.text("a|b [c](d) <e> & _f_ {g}"))
    assert html == "<p>a|b [c](d) &lt;e&gt; &amp; _f_ {g}</p>"


def test_code_and_paragraphs_and_pre_escape() -> None:
    assert render(md.code("<x>|`y`")) == "<p><code>&lt;x&gt;|`y`</code></p>"
    html = render(md.paragraphs("first <b>para</b>\n\n# second {: onclick=x}"))
    assert html == "<p>first &lt;b&gt;para&lt;/b&gt;</p>\n\n<p># second {: onclick=x}</p>"
    html = render(md.pre(["</pre><script>alert(1)</script>", "", "    indented *x*"]))
    assert "<script>" not in html and "&lt;/pre&gt;" in html and "    indented *x*" in html


def test_admonition_and_details_escape_titles_and_bodies() -> None:
    html = render(md.admonition("failure", "ERROR <i>", "<img src=x onerror=alert(1)>"))
    assert "<img" not in html and "<i>" not in html
    html = render(md.details("sum <b>", "<pre>ok</pre>"))
    assert "sum &lt;b&gt;" in html


def test_links_quote_their_targets() -> None:
    html = render(md.link("a b", "main-0000/out/a b (1).json"))
    assert html == '<p><a href="main-0000/out/a%20b%20%281%29.json">a b</a></p>'
    assert md.external("javascript:alert(1)") == "<code>javascript:alert(1)</code>"
    assert render(md.external("https://x.org/a(b)")).count("<a ") == 1


def test_state_badge_cannot_carry_markup() -> None:
    assert md.state('succ"><script>') == \
        '<span class="mso-state mso-succscript">succ"&gt;&lt;script&gt;</span>'


def test_numbers_for_people() -> None:
    assert md.size(512) == "512 B" and md.size(9376) == "9.2 KiB"
    assert md.duration(0) == "0 s" and md.duration(185) == "3 min 05 s"
    assert md.duration(7620) == "2 h 07 min" and md.duration(None) == md.NONE
    assert md.seconds_between("2026-01-01T00:00:00Z", "2026-01-01T00:01:30Z") == 90
    assert md.when("2026-11-25T14:57:39Z") == "2026-11-25 14:57:39"


def test_schema_words() -> None:
    assert type_of({"type": "array", "items": {"type": "string"}}) == "list of string"
    assert type_of({"enum": ["a", "b"]}) == 'one of "a", "b"'
    assert type_of({"oneOf": [{"type": "string"}, {"type": "object"}]}) == "string or object"
    assert bounds({"exclusiveMinimum": 0, "maximum": 0.25}) == "> 0, ≤ 0.25"


def test_command_line_quotes_only_what_needs_it() -> None:
    assert command_line(("python", "x.py", "--n", "{n}", "a b", "$HOME")) == \
        "python x.py --n {n} 'a b' '$HOME'"
