"""Which ILO forced-labour indicators a worker's report points to.

The indicators and what points to them live in
`flows/content/forced_labour_indicators.yml` (content brief section 6,
source T6), so a reviewer can check them without reading code.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from bot.normalise import normalise


class ForcedLabourIndicators:
    def __init__(self, content_file: Path) -> None:
        data = yaml.safe_load(content_file.read_text(encoding="utf-8"))
        self.source = str(data["source"])
        self.names: dict[str, str] = {
            key: str(value["name"]) for key, value in data["indicators"].items()
        }
        self._by_kind: dict[str, list[str]] = {
            kind: list(keys or []) for kind, keys in data["kinds"].items()
        }
        self._cues: dict[str, list[str]] = {
            key: [normalise(str(word)).text.lower() for word in words]
            for key, words in data["cues"].items()
        }
        unknown = {
            key for keys in [*self._by_kind.values(), list(self._cues)] for key in keys
        } - set(self.names)
        if unknown:
            raise ValueError(f"unknown indicators in {content_file.name}: {sorted(unknown)}")

    @property
    def kinds(self) -> set[str]:
        return set(self._by_kind)

    def point_to(self, *, kind: str, answers: Iterable[str]) -> list[str]:
        """The indicators, in the brief's order, for a kind and the worker's own words."""
        found = set(self._by_kind.get(kind, []))
        words = " ".join(normalise(answer).text.lower() for answer in answers)
        for key, cues in self._cues.items():
            if any(cue in words for cue in cues):
                found.add(key)
        return [key for key in self.names if key in found]
