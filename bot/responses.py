"""Renders a named response into the words and buttons a worker sees.

The structure of each response (which catalog message, which buttons) is in
the engine's domain, `flows/domain.yml`, where Rasa's own tools validate it;
the words come from the catalogs, so a response reads the same whichever
channel carries it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.language import LANGUAGES
from bot.texts import Texts

LANGUAGE_PICKER = "language_picker"
LANGUAGE_NAME_ID = "language_name"


class UnknownResponse(LookupError):
    pass


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[Button] = field(default_factory=list)
    # What the hotline itself said (for example `slow_down`), to find it
    # again without reading the encrypted text.
    tag: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": [button.as_dict() for button in self.buttons]}


def choose_language_payload(language: str) -> str:
    return "/choose_language" + json.dumps({"language": language}, separators=(",", ":"))


class Responses:
    """The engine's responses, as the domain (`flows/domain.yml`) lays them out."""

    def __init__(self, domain_file: Path, texts: Texts) -> None:
        with domain_file.open(encoding="utf-8") as handle:
            domain = yaml.safe_load(handle)
        self._spec: dict[str, dict[str, Any]] = {
            name: variations[0] for name, variations in (domain.get("responses") or {}).items()
        }
        self._texts = texts

    def names(self) -> set[str]:
        return set(self._spec)

    def message_ids(self) -> set[str]:
        """Every catalog message id the responses use."""
        ids = {LANGUAGE_NAME_ID}
        for spec in self._spec.values():
            ids.add(spec["text"])
            ids.update(button["title"] for button in spec.get("buttons") or [])
        return ids

    def render(self, name: str, language: str, **values: str) -> Reply:
        spec = self._spec.get(name)
        if spec is None:
            raise UnknownResponse(name)
        if (spec.get("custom") or {}).get("buttons") == LANGUAGE_PICKER:
            buttons = self._language_picker()
        else:
            buttons = [
                Button(title=self._texts.get(language, button["title"]), payload=button["payload"])
                for button in spec.get("buttons") or []
            ]
        return Reply(
            text=self._texts.get(language, spec["text"], **values),
            buttons=buttons,
        )

    def _language_picker(self) -> list[Button]:
        # Each language is named in its own script, whatever the
        # conversation's language, so a worker can find their own.
        return [
            Button(
                title=self._texts.get(code, LANGUAGE_NAME_ID),
                payload=choose_language_payload(code),
            )
            for code in LANGUAGES
        ]
