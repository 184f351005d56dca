"""Which language a worker is writing in, and which one the hotline answers in.

Order of precedence: the worker's explicit choice, then what the script of
their messages shows, then the language their platform says they use (a
Telegram app's language, a LINE profile's, a browser's Accept-Language: the
first guess, for a worker who has written nothing telling yet), then the
hotline's default. The script of Latin letters says nothing (English and
romanised Burmese, Khmer or Lao look alike): `bot/latin_language.py` reads
those, and leaves the stored language as it is unless clearly sure.
"""

from __future__ import annotations

import re
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


def effective_language(
    *, choice: str | None, detected: str | None, default: str, hint: str | None = None
) -> str:
    return choice or detected or hint or default


# A platform's names for the hotline's languages (ISO 639-1 and 639-2);
# any other language says nothing.
_PLATFORM_CODES: Final = {
    "my": "my",
    "mya": "my",
    "bur": "my",
    "km": "km",
    "khm": "km",
    "lo": "lo",
    "lao": "lo",
    "th": "th",
    "tha": "th",
    "en": "en",
    "eng": "en",
}
_TAG: Final = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*")


def platform_language(codes: str | None) -> str | None:
    """One of the hotline's languages from what a platform says of its user.

    `codes` is a BCP 47 tag ("th", "th-TH", "my_MM") or an Accept-Language
    list ("de-DE,de;q=0.9,my;q=0.8"): the most preferred tag whose language
    the hotline speaks decides. None when none does ("zh", "de", nothing).
    """
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((codes or "")[:1000].split(",")[:32]):
        tag, _, parameters = part.strip().partition(";")
        tag = tag.strip()
        if not _TAG.fullmatch(tag):
            continue
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        language = _PLATFORM_CODES.get(re.split(r"[-_]", tag, maxsplit=1)[0].lower())
        if language is not None and weight > 0:
            ranked.append((-weight, index, language))
    return min(ranked)[2] if ranked else None
