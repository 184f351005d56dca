"""Word segmentation for the hotline's scripts.

Thai, Lao, Khmer and Burmese are written without spaces between words. Text
is cut into runs of one script; each run goes to that language's segmenter
and everything else (Latin letters, digits, emoji) is split on whitespace.
Segments are returned with their offsets and are always in-order substrings
of the input, which Rasa needs to line up entity annotations with tokens.

This module has no Rasa import so that it can be tested and reused alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache

Segment = tuple[str, int]  # (text, start offset)

_RANGES = (
    (0x0E00, 0x0E7F, "th"),
    (0x0E80, 0x0EFF, "lo"),
    (0x1780, 0x17FF, "km"),
    (0x19E0, 0x19FF, "km"),
    (0x1000, 0x109F, "my"),
    (0xA9E0, 0xA9FF, "my"),
    (0xAA60, 0xAA7F, "my"),
)

# Latin-letter text: split on whitespace, and keep punctuation at the ends of
# a word away from it ("pay?" -> "pay", "?") so the word matches its
# training twin.
_LATIN_WORD = re.compile(r"[\w'’-]+|[^\w\s]+", re.UNICODE)


def script_of(char: str) -> str | None:
    point = ord(char)
    for low, high, script in _RANGES:
        if low <= point <= high:
            return script
    return None


def script_runs(text: str) -> Iterator[tuple[str | None, int, int]]:
    """Maximal runs of one script: (script or None, start, end).

    Spaces and punctuation stay with the run they are in, so a Thai phrase
    with a space inside is one run; the segmenter decides.
    """
    current: str | None = None
    start = 0
    for index, char in enumerate(text):
        script = script_of(char)
        if script is None and (char.isspace() or not char.isalnum()) and current is not None:
            continue  # neutral character: belongs to the current run
        if index == 0:
            current = script
            continue
        if script != current:
            yield current, start, index
            current, start = script, index
    if text:
        yield current, start, len(text)


def _thai(text: str) -> list[str]:
    from pythainlp.tokenize import word_tokenize

    return list(word_tokenize(text, engine="newmm", keep_whitespace=False))


def _lao(text: str) -> list[str]:
    from laonlp.tokenize import word_tokenize

    return list(word_tokenize(text))


def _khmer(text: str) -> list[str]:
    from khmernltk import word_tokenize

    return list(word_tokenize(text))


_MY_ASAT = "\u103a"
_MY_VIRAMA = "\u1039"
_MY_DOT_BELOW = "\u1037"


def _is_myanmar_syllable_start(char: str) -> bool:
    point = ord(char)
    # Consonants and independent vowels, the great sa, digits and the
    # Myanmar punctuation marks each open a new syllable.
    return (
        0x1000 <= point <= 0x102A
        or point == 0x103F
        or 0x1040 <= point <= 0x104F
        or 0x1050 <= point <= 0x1055
        or 0x105A <= point <= 0x105D
        or point in (0x1061, 0x1065, 0x1066, 0x106E, 0x106F, 0x1070)
        or 0x1075 <= point <= 0x1081
        or point == 0x108E
        or 0xA9E0 <= point <= 0xA9FF
        or 0xAA60 <= point <= 0xAA7F
    )


def _burmese(text: str) -> list[str]:
    """Burmese syllables.

    A consonant opens a syllable unless it is stacked under the previous one
    (after the virama) or killed by an asat (then it closes the previous
    syllable). No Burmese word segmenter ships without a model download, and
    syllables with bigram features carry the words' signal.
    """
    syllables: list[str] = []
    current = ""
    for index, char in enumerate(text):
        if char.isspace():
            if current:
                syllables.append(current)
            current = ""
            continue
        opens = _is_myanmar_syllable_start(char)
        if opens and current:
            previous = current[-1]
            following = text[index + 1 : index + 3]
            killed = following[:1] == _MY_ASAT or following == _MY_DOT_BELOW + _MY_ASAT
            stacked = previous == _MY_VIRAMA
            digit_run = "\u1040" <= char <= "\u1049" and "\u1040" <= previous <= "\u1049"
            if not (killed or stacked or digit_run):
                syllables.append(current)
                current = ""
        current += char
    if current:
        syllables.append(current)
    return syllables


def _latin(text: str) -> list[str]:
    return _LATIN_WORD.findall(text)


_SEGMENTERS: dict = {"th": _thai, "lo": _lao, "km": _khmer, "my": _burmese}


def _segmenter(script: str | None) -> Callable[[str], list[str]]:
    return _SEGMENTERS.get(script, _latin) if script else _latin


def _locate(pieces: list[str], text: str, offset: int) -> Iterator[Segment]:
    """Find each piece in order; anything a segmenter changed is skipped."""
    position = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        found = text.find(piece, position)
        if found < 0:
            continue
        yield piece, offset + found
        position = found + len(piece)


def _fill_gaps(segments: list[Segment], text: str, start: int, end: int) -> list[Segment]:
    """Letters a segmenter dropped come back as whitespace-split segments.

    Nothing the worker wrote may disappear from the engine's view.
    """
    result: list[Segment] = []
    cursor = start
    for piece, piece_start in segments:
        if piece_start > cursor:
            result.extend(_whitespace_pieces(text[cursor:piece_start], cursor))
        result.append((piece, piece_start))
        cursor = piece_start + len(piece)
    if cursor < end:
        result.extend(_whitespace_pieces(text[cursor:end], cursor))
    return result


def _whitespace_pieces(text: str, offset: int) -> Iterator[Segment]:
    for match in re.finditer(r"\S+", text):
        yield match.group(), offset + match.start()


@lru_cache(maxsize=4096)
def segment(text: str) -> tuple[Segment, ...]:
    """Segments of `text` with their start offsets, in order, never empty."""
    segments: list[Segment] = []
    for script, start, end in script_runs(text):
        run = text[start:end]
        if not run.strip():
            continue
        pieces = list(_locate(_segmenter(script)(run), run, start))
        segments.extend(_fill_gaps(pieces, text, start, end))
    return tuple(segments)
