"""One normalisation for every channel and for evaluation.

Workers' phones send the same words in different byte forms; the engine must
see one form. The original text is always kept beside the normalised one.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

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
    composed = unicodedata.normalize("NFC", original)
    cleaned = "".join(char for char in composed if _keep(char))
    # Collapse runs of spaces the removal may leave, keep line breaks.
    lines = [" ".join(line.split()) for line in cleaned.splitlines()]
    text = "\n".join(line for line in lines if line)
    return NormalisedText(original=original, text=text)
