"""One normalisation for every channel and for evaluation.

Workers' phones send the same words in different byte forms; the engine must
see one form. The original text is always kept beside the normalised one.

Much Burmese still arrives in Zawgyi, a font encoding that reuses the
Myanmar code points with other meanings: it is detected with myanmartools'
detector and converted to Unicode with ICU's `Zawgyi-my` transliterator.
Conversion comes before NFC, because canonical reordering of combining marks
would scramble Zawgyi sequences. What a message shows beyond doubt about the
worker's phone (`NormalisedText.encoding`) decides the encoding the hotline
writes back in (`bot/encoding.py`), converted with the inverse, `my-Zawgyi`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Final, Protocol

import icu
from myanmartools import ZawgyiDetector

# myanmartools scores Unicode Burmese near 0 and Zawgyi near 1; short texts
# land in between, and a wrong conversion garbles Unicode text, so only a
# clear majority converts.
ZAWGYI_THRESHOLD: Final = 0.5
# Answering in Zawgyi garbles every reply on a Unicode phone, so a message
# moves a worker's replies to Zawgyi (or back) only when the detector is
# sure, and the text reads differently in the two encodings: many short
# Burmese texts are the same code points in both and tell nothing (the
# detector scores "မရဘူး" 0.97).
ZAWGYI_CERTAIN: Final = 0.95
UNICODE_CERTAIN: Final = 0.05
ZAWGYI: Final = "zawgyi"
UNICODE: Final = "unicode"

# Zero-width and bidirectional controls: invisible, they split words for the
# tokenizer and can disguise text in the console. ZWJ/ZWNJ carry no meaning
# in the hotline's scripts (they matter for emoji sequences only, which the
# engine does not need).
_INVISIBLE: Final = frozenset(
    [
        0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x180E,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
        0x200E, 0x200F, 0x061C,
    ]
)  # fmt: skip


@dataclass(frozen=True)
class NormalisedText:
    original: str
    text: str
    was_zawgyi: bool = False
    # The encoding the worker's Burmese was written in, when it is beyond
    # doubt (`ZAWGYI` or `UNICODE`); None without Burmese, or when unsure.
    encoding: str | None = None


class _Transliterator(Protocol):
    def transliterate(self, text: str) -> str: ...


@cache
def _zawgyi_detector() -> ZawgyiDetector:
    return ZawgyiDetector()


@cache
def _zawgyi_to_unicode() -> _Transliterator:
    transliterator: _Transliterator = icu.Transliterator.createInstance("Zawgyi-my")
    return transliterator


@cache
def _unicode_to_zawgyi() -> _Transliterator:
    transliterator: _Transliterator = icu.Transliterator.createInstance("my-Zawgyi")
    return transliterator


def _has_myanmar(text: str) -> bool:
    return any("\u1000" <= char <= "\u109f" for char in text)


def _zawgyi_probability(text: str) -> float:
    if not _has_myanmar(text):
        return 0.0
    return float(_zawgyi_detector().get_zawgyi_probability(text))


def is_zawgyi(text: str) -> bool:
    return _zawgyi_probability(text) > ZAWGYI_THRESHOLD


def zawgyi_to_unicode(text: str) -> str:
    return _zawgyi_to_unicode().transliterate(text)


def unicode_to_zawgyi(text: str) -> str:
    """Unicode Burmese as a Zawgyi font shows it; other scripts unchanged."""
    if not _has_myanmar(text):
        return text
    return _unicode_to_zawgyi().transliterate(text)


def certain_encoding(text: str, probability: float | None = None) -> str | None:
    """`ZAWGYI` or `UNICODE` when the Burmese in `text` is that beyond doubt
    (`probability`: the detector's Zawgyi score, when read already)."""
    if not _has_myanmar(text):
        return None
    if probability is None:
        probability = _zawgyi_probability(text)
    if probability > ZAWGYI_CERTAIN and zawgyi_to_unicode(text) != text:
        return ZAWGYI
    if probability < UNICODE_CERTAIN and unicode_to_zawgyi(text) != text:
        return UNICODE
    return None


def _keep(char: str) -> bool:
    if ord(char) in _INVISIBLE:
        return False
    if char in "\n\t":
        return True
    category = unicodedata.category(char)
    # Control (Cc), format (Cf) and unassigned/private/surrogate code points
    # are not part of anything a worker means to say.
    return category not in ("Cc", "Cf", "Cs", "Co", "Cn")


def normalise(original: str) -> NormalisedText:
    cleaned = "".join(char for char in original if _keep(char))
    probability = _zawgyi_probability(cleaned)
    was_zawgyi = probability > ZAWGYI_THRESHOLD
    encoding = certain_encoding(cleaned, probability)
    if was_zawgyi:
        cleaned = zawgyi_to_unicode(cleaned)
    composed = unicodedata.normalize("NFC", cleaned)
    # Collapse runs of spaces the removal may leave, keep line breaks.
    lines = [" ".join(line.split()) for line in composed.splitlines()]
    text = "\n".join(line for line in lines if line)
    return NormalisedText(original=original, text=text, was_zawgyi=was_zawgyi, encoding=encoding)
