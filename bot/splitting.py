"""Cutting a long reply into pieces a platform accepts.

LINE counts a text's length in UTF-16 code units (5,000 at most), Telegram
in characters (4,096). Pieces end at a paragraph, line or sentence boundary
when one is near; Burmese ends sentences with ။ and Khmer with ។, while
Thai and Lao separate sentences with a space.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

Measure = Callable[[str], int]

# Where to prefer a cut, best first. The cut goes after the separator.
_SEPARATORS = ("\n\n", "\n", "။ ", "။", "។ ", "។", ". ", "? ", "! ", " ")


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def characters(text: str) -> int:
    return len(text)


def _longest_prefix(text: str, limit: int, measure: Measure) -> int:
    """The largest index such that text[:index] fits within limit."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def split_text(text: str, limit: int, measure: Measure = characters) -> list[str]:
    if limit <= 0:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text
    while rest and measure(rest) > limit:
        fits = _longest_prefix(rest, limit, measure)
        cut = 0
        for separator in _SEPARATORS:
            found = rest.rfind(separator, 0, fits)
            # A boundary in the last half of the room; otherwise pieces
            # would be needlessly short.
            if found > 0 and found + len(separator) >= fits // 2:
                cut = found + len(separator)
                break
        if cut == 0:
            cut = fits
            # Never split a surrogate pair or leave a combining mark alone.
            while cut > 1 and _is_continuation(rest[cut]):
                cut -= 1
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if rest.strip():
        pieces.append(rest)
    return pieces or [text]


def _is_continuation(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Mc", "Me")
