"""Words for counts, as a person reads them: `1 task`, `2 tasks`."""

from __future__ import annotations

_IRREGULAR = {"entry": "entries", "this": "these", "is": "are", "was": "were", "has": "have"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """`n word` with the word in the plural unless n is 1 (`many` when the plural is irregular)."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {many or _IRREGULAR.get(word) or word + 's'}"


def size_text(n: int) -> str:
    """Bytes for people: 512 B, 9.2 KiB, 3.1 MiB."""
    value, unit = float(n), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
