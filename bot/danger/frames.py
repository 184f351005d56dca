"""How a message tells what it tells: over, a question, a joke, happening now.

The danger model's first stage reads what a message is about; the same
words ("beaten", "knife", "fire", "die") come in messages of danger now and
in calm ones that tell of harm that is over ("beaten in March, she is safe
now"), ask a question ("if there is a fire, who do I call"), joke ("the OT
will kill me 555") or complain strongly ("hungry to death"). A linear model
over n-grams cannot learn "danger words AND a past frame is calm"; the
second stage (`model.py`) can, from these frames and their products with the
first stage's score.

The markers of each frame are content (`flows/content/danger_frames.yml`),
grouped by language for review; every marker is looked for in every message,
as workers mix languages.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import yaml

FRAMES_FILE = "danger_frames.yml"
# A marker of these characters only is matched as a whole word (or words):
# "if" is not in "wife", "ot" is not in "hot". Any other marker is matched as
# a part of the text, as Thai, Lao, Khmer and Burmese have no spaces.
_LATIN = re.compile(r"[a-z0-9' ]+")


class Frames:
    """The frames of `danger_frames.yml`, each a yes or no for a message."""

    def __init__(self, frames: dict[str, list[str]]) -> None:
        if not frames:
            raise ValueError("no frames")
        self.names = tuple(frames)
        self._words: list[re.Pattern[str] | None] = []
        self._parts: list[tuple[str, ...]] = []
        for markers in frames.values():
            cleaned = {unicodedata.normalize("NFC", m).lower().strip() for m in markers}
            cleaned.discard("")
            words = sorted((m for m in cleaned if _LATIN.fullmatch(m)), key=len, reverse=True)
            self._words.append(
                re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, words)) + r")(?![a-z0-9])")
                if words
                else None
            )
            self._parts.append(tuple(sorted(m for m in cleaned if not _LATIN.fullmatch(m))))

    @classmethod
    def from_file(cls, path: Path) -> Frames:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise ValueError(f"{path}: expected frames, each with markers per language")
        frames: dict[str, list[str]] = {}
        for name, groups in document.items():
            if not isinstance(groups, dict):
                raise ValueError(f"{path}: frame {name}: expected markers per language")
            frames[str(name)] = [str(m) for markers in groups.values() for m in markers or []]
        return cls(frames)

    def vector(self, text: str) -> np.ndarray:
        """1.0 for each frame found in the text (`prepared`: normalised, lower case)."""
        return np.array(
            [
                1.0
                if (words is not None and words.search(text)) or any(p in text for p in parts)
                else 0.0
                for words, parts in zip(self._words, self._parts, strict=True)
            ]
        )

    def found(self, text: str) -> list[str]:
        """The names of the frames found, for review."""
        return [name for name, hit in zip(self.names, self.vector(text), strict=True) if hit]
