"""Markdown helpers: every piece of user text reaches a page or a note through these escapes.

Python-Markdown passes raw HTML through, and `[x](javascript:...)` or `{: onclick=...}` (attr_list)
would make links and attributes out of plain text, so user text is HTML-escaped AND has the
Markdown characters that build links, emphasis, code, attributes or table cells backslash-escaped.
Log text and file tails go into raw HTML blocks (`<pre>`), where only HTML escaping applies.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import posixpath
import re
from typing import Any, Iterable, Sequence
from urllib.parse import quote

from runner.words import size_text

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|!#])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\x1b\[[0-9;?]*[A-Za-z]")
_SPACE = re.compile(r"\s+")
NONE = "—"


def text(value: Any) -> str:
    """User text as inline Markdown that renders literally: one line, no HTML, no markup."""
    s = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    s = _SPACE.sub(" ", _CONTROL.sub("", s)).strip()
    return _MD_SPECIAL.sub(r"\\\1", html.escape(s, quote=False))


def code(value: Any) -> str:
    """User text in monospace, rendered literally (safe inside table cells)."""
    return f"<code>{text(value)}</code>" if value not in (None, "") else NONE


def short(value: Any, keep: int = 12) -> str:
    """A long value (a hash, a digest) shortened in monospace, the whole of it on hover."""
    if value in (None, ""):
        return NONE
    whole = text(value)
    shown = whole if len(str(value)) <= keep + 1 else text(str(value)[:keep]) + "…"
    return f'<code title="{html.escape(str(value))}">{shown}</code>'


def paragraphs(value: str) -> str:
    """Free text (a description) as literal paragraphs; blank lines separate them."""
    parts = [p for p in re.split(r"\n\s*\n", _CONTROL.sub("", value or "")) if p.strip()]
    return "\n\n".join(f"<p>{html.escape(_SPACE.sub(' ', p).strip())}</p>" for p in parts)


def pre(lines: Iterable[str], css: str = "mso-text") -> str:
    """Verbatim lines as a raw HTML <pre> block (HTML-escaped, control characters removed)."""
    return f'<pre class="{css}">' + "\n".join(escape_line(ln) for ln in lines) + "</pre>"


def escape_line(line: str) -> str:
    """One line for raw HTML: escaped, without control characters or a line end."""
    return html.escape(_CONTROL.sub("", line.rstrip("\r\n")), quote=False)


def details(summary: str, inner_html: str, kind: str = "abstract", is_open: bool = False) -> str:
    """A collapsible block (material styles <details> like an admonition); summary is escaped."""
    return (f'<details class="{kind}"{" open" if is_open else ""}><summary>'
            f"{html.escape(summary)}</summary>\n{inner_html}\n</details>")


def admonition(kind: str, title: str, body: str) -> str:
    """An admonition as raw HTML, so its user text never meets the Markdown parser."""
    return (f'<div class="admonition {kind}"><p class="admonition-title">{html.escape(title)}</p>'
            f"<p>{html.escape(_CONTROL.sub('', body))}</p></div>")


def link(label: str, target: str) -> str:
    """A link to a docs-relative path; the label is escaped and the target URL-quoted."""
    return f"[{text(label)}]({quote(target, safe='/#.-_~')})"


def rel(from_page: str, to_path: str) -> str:
    """The relative link from one docs page to another docs path."""
    return posixpath.relpath(to_path, posixpath.dirname(from_page) or ".")


def external(url: str | None) -> str:
    """A link only for plain http(s) URLs; anything else is shown as text."""
    if not url:
        return NONE
    if re.fullmatch(r"https?://[^\s<>\"'`\\]+", url):
        return f"[{text(url)}]({quote(url, safe=':/?#@!$&*+,;=%~.-_')})"
    return code(url)


def table(head: Sequence[str], rows: Iterable[Sequence[str]], empty: str = "None.") -> str:
    """A Markdown table of cells that are already Markdown (escape user text with text())."""
    rows = [list(r) for r in rows]
    if not rows:
        return f"_{empty}_"
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _cell(cell: str) -> str:
    return cell.replace("\n", " ").strip() or NONE


def facts(pairs: Iterable[tuple[str, str]]) -> str:
    """A two-column table of labelled facts, skipping empty ones."""
    return table(("Field", "Value"), ((f"**{k}**", v) for k, v in pairs if v not in ("", NONE)))


def state(value: str | None) -> str:
    """A run or task state as a coloured badge (unknown text is escaped)."""
    if not value:
        return NONE
    css = re.sub(r"[^a-z]", "", value.lower())
    return f'<span class="mso-state mso-{css}">{text(value)}</span>'


def size(n: int | None) -> str:
    """Bytes for people: 512 B, 9.2 KiB, 3.1 MiB."""
    return NONE if n is None else size_text(n)


def parse_time(value: str | None) -> dt.datetime | None:
    """An ISO 8601 UTC time from a record, or None when missing or unreadable."""
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from one record time to another, or None."""
    a, b = parse_time(start), parse_time(end)
    return (b - a).total_seconds() if a and b and b >= a else None


def duration(seconds: float | None, rough: bool = False) -> str:
    """A wall time for people: 0 s, 42 s, 3 min 05 s, 2 h 07 min; rough (an estimate), to the
    nearest minute from one minute on: 14 min, 2 h 08 min."""
    if seconds is None:
        return NONE
    s = int(round(seconds))
    if rough and s >= 60:
        s = (s + 30) // 60 * 60
        if s < 3600:
            return f"{s // 60} min"
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def number(value: Any) -> str:
    """A metric for a table: integers as they are, other numbers to 4 significant digits."""
    if value is None or value == "":
        return NONE
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return text(value)
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def when(value: str | None) -> str:
    """A record time as `YYYY-MM-DD HH:MM:SS`, UTC."""
    t = parse_time(value)
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else text(value) if value else NONE


def values(mapping: dict[str, Any]) -> str:
    """Parameters as `name=value, ...`, escaped for a table cell."""
    return ", ".join(f"{text(k)}={text(v)}" for k, v in mapping.items()) or NONE


def trusted(value: str) -> str:
    """Text shipped with mso (schema descriptions): `code spans` kept, the rest made table-safe."""
    parts = re.split(r"(`[^`\n]*`)", _SPACE.sub(" ", value or "").strip())
    return "".join(p if p.startswith("`") and p.endswith("`") and len(p) > 1
                   else html.escape(p, quote=False).replace("|", r"\|") for p in parts)
