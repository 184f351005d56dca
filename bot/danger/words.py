"""Danger words: someone is in danger now, whatever else the message says.

The engine classifies `emergency` too; this is the safety net that needs no
model: it works mid-conversation, when the engine is down, and on messages
the engine reads as something else.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.normalise import normalise


class DangerWords:
    def __init__(self, content_file: Path) -> None:
        data: dict[str, list[str]] = yaml.safe_load(content_file.read_text(encoding="utf-8"))
        self._latin: list[re.Pattern[str]] = []
        self._other: list[str] = []
        for words in data.values():
            for word in words:
                phrase = normalise(word).text.lower()
                if phrase.isascii():
                    self._latin.append(re.compile(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])"))
                else:
                    # Thai, Lao, Khmer and Burmese have no spaces between
                    # words: a phrase inside a longer run still counts.
                    self._other.append(phrase.replace(" ", ""))

    def found_in(self, text: str) -> bool:
        lowered = text.lower()
        compact = lowered.replace(" ", "")
        return any(phrase in compact for phrase in self._other) or any(
            pattern.search(lowered) for pattern in self._latin
        )
