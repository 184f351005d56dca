"""Which language a worker is writing in, and which one the hotline answers in.

Order of precedence: the worker's explicit choice, then the stored
preference, then what the script of the message shows. The script of Latin
letters says nothing (English and romanised Burmese, Khmer or Lao look
alike): `bot/latin_language.py` reads those, and leaves the stored language
as it is unless clearly sure.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("my", "km", "lo", "th", "en")

# Unicode blocks of the scripts the hotline reads (Myanmar Extended-A/B too,
# since Shan and other languages of Myanmar workers use them).
_SCRIPT_RANGES: Final = (
    (0x0E00, 0x0E7F, "th"),
    (0x0E80, 0x0EFF, "lo"),
    (0x1780, 0x17FF, "km"),
    (0x19E0, 0x19FF, "km"),
    (0x1000, 0x109F, "my"),
    (0xA9E0, 0xA9FF, "my"),
    (0xAA60, 0xAA7F, "my"),
)


def _script_of(char: str) -> str | None:
    point = ord(char)
    for low, high, language in _SCRIPT_RANGES:
        if low <= point <= high:
            return language
    return None


def detect_by_script(text: str) -> str | None:
    """The language whose script most letters of `text` are written in.

    Returns None when the text has no letters of th, lo, km or my, for
    example Latin letters, digits or emoji only.
    """
    counts: dict[str, int] = {}
    for char in text:
        language = _script_of(char)
        if language:
            counts[language] = counts.get(language, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda language: counts[language])


def effective_language(*, choice: str | None, detected: str | None, default: str) -> str:
    return choice or detected or default
