"""How staff may reach a worker who reported, and the texts that would give it away.

The report form asks whether and how staff may contact the worker: in this
chat, by a phone number they type, or not at all. The answer is kept in one
place, the case's `contact` (encrypted), never among the answers: the
answers go into every referral, while the contact leaves the hotline only
when the worker agreed to sharing, and erasing the worker's data must find
every copy of it.

A typed number is not only in the contact: it is in the message the worker
typed it in, in the bot's summary that repeated it, and in staff notes about
calling. `PhoneNumbers` tells such texts apart, with the patterns the engine
reads phone numbers by (`nlu/data/patterns.yml`) and by the worker's own
number, however it is spaced or prefixed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

CHAT, NONE, PHONE = "chat", "none", "phone"
# What erasure leaves in a staff note where the worker's number was.
REMOVED = "[removed]"
# The subscriber's part of a number: the same number typed with the country
# code (+66 89...) or with the leading 0 (089...) ends in the same digits.
_SIGNIFICANT_DIGITS = 8
# What people put between a number's digits, including the invisible
# characters some keyboards add.
_BETWEEN = r"[\s.()\-\u200b-\u200d\u2060\ufeff]*"


def from_answer(answer: Any) -> dict[str, str] | None:
    """The form's contact answer (chat, none, or the typed number) as the case keeps it."""
    if not isinstance(answer, str) or not answer.strip():
        return None
    if answer in (CHAT, NONE):
        return {"by": answer}
    return {"by": PHONE, "phone": answer.strip()}


def phone_of(contact: Mapping[str, Any] | None) -> str | None:
    phone = (contact or {}).get("phone")
    return str(phone) if phone else None


def _ascii_digits(text: str) -> str:
    """The text with digits of any script (๐๘๙, ၀၈၉, ...) as 0-9, same length."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def _number(phone: str) -> re.Pattern[str] | None:
    """Where a known number is written in a text, with whatever digits lead it."""
    digits = re.sub(r"[^0-9]", "", _ascii_digits(phone))
    if len(digits) < _SIGNIFICANT_DIGITS:
        return None
    tail = _BETWEEN.join(digits[-_SIGNIFICANT_DIGITS:])
    return re.compile(rf"(?<![0-9])\+?(?:[0-9]{_BETWEEN})*?{tail}(?![0-9])")


def _numbers(phones: Iterable[str | None]) -> list[re.Pattern[str]]:
    return [pattern for phone in phones if phone for pattern in [_number(phone)] if pattern]


def redact(text: str, phones: Iterable[str | None]) -> str:
    """The text with the given numbers taken out, however they were written."""
    patterns = _numbers(phones)
    if not patterns:
        return text
    plain = _ascii_digits(text)
    spans = sorted(match.span() for pattern in patterns for match in pattern.finditer(plain))
    kept, at = [], 0
    for start, end in spans:
        if start < at:
            continue
        kept += [text[at:start], REMOVED]
        at = end
    return "".join([*kept, text[at:]])


class PhoneNumbers:
    """Phone numbers as the engine finds them in what workers write."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns = [re.compile(pattern) for pattern in patterns]

    @classmethod
    def from_training_data(cls, patterns_file: Path) -> PhoneNumbers:
        document = yaml.safe_load(patterns_file.read_text(encoding="utf-8")) or {}
        patterns = [
            line.strip().removeprefix("- ")
            for block in document.get("nlu") or []
            if block.get("regex") == "phone_number"
            for line in str(block.get("examples") or "").splitlines()
            if line.strip()
        ]
        if not patterns:
            raise ValueError(f"no phone_number patterns in {patterns_file}")
        return cls(patterns)

    def carries(self, text: str, phones: Iterable[str | None] = ()) -> bool:
        """Whether the text holds a phone number, or one of the given numbers."""
        plain = _ascii_digits(text)
        # Invisible characters between digits would hide a number from the patterns.
        visible = "".join(c for c in plain if unicodedata.category(c) != "Cf")
        if any(pattern.search(visible) for pattern in self._patterns):
            return True
        return any(pattern.search(plain) for pattern in _numbers(phones))
