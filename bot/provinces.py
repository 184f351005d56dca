"""Province names as a worker reads them.

The engine hands over the official English name; the worker reads it in
their own script where the project knows it (`nlu/data/provinces.yml`, the
first spelling listed in that script), with the English name beside it, as
it is on signs and documents.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.language import detect_by_script


class ProvinceNames:
    def __init__(self, provinces_file: Path) -> None:
        document = yaml.safe_load(provinces_file.read_text(encoding="utf-8")) or {}
        self._local: dict[tuple[str, str], str] = {}
        for block in document.get("nlu") or []:
            official = block.get("synonym")
            if not official:
                continue
            for line in str(block.get("examples") or "").splitlines():
                spelling = line.strip().removeprefix("- ").strip()
                language = detect_by_script(spelling)
                if language and (official, language) not in self._local:
                    self._local[(official, language)] = spelling

    def display(self, official: str, language: str) -> str:
        local = self._local.get((official, language))
        return f"{local} ({official})" if local else official
