"""The sentences workers read, from the gettext catalogs in `locales/`.

Messages are keyed by a stable message id (for example `welcome`), and the
English catalog holds the source text. Catalogs are read as `.po` files with
babel at start-up, so there is no compile step to forget. Entries marked
`fuzzy` are machine-drafted translations awaiting review: they are still
served, because a drafted sentence in the worker's own language helps more
than a checked one they cannot read, and `hotline content report` counts them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.language import LANGUAGES

logger = logging.getLogger(__name__)

DOMAIN = "messages"
SOURCE_LANGUAGE = "en"


class _Values(dict[str, str]):
    """Values for a message's placeholders; a missing one stays visible, not a crash."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class MissingText(LookupError):
    """A message id that no catalog has: a defect, never shown to a worker."""


@dataclass(frozen=True)
class CatalogStats:
    language: str
    messages: int
    missing: int
    awaiting_review: int


def catalog_path(locales_dir: Path, language: str) -> Path:
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_catalog(locales_dir: Path, language: str) -> Catalog:
    with catalog_path(locales_dir, language).open("rb") as handle:
        return read_po(handle, locale=language)


class Texts:
    """All catalogs, loaded once."""

    def __init__(self, locales_dir: Path) -> None:
        self._catalogs = {language: load_catalog(locales_dir, language) for language in LANGUAGES}
        self._texts: dict[str, dict[str, str]] = {}
        for language, catalog in self._catalogs.items():
            self._texts[language] = {
                str(message.id): str(message.string)
                for message in catalog
                if message.id and message.string
            }

    def get(self, language: str, message_id: str, **values: str) -> str:
        text = self._texts.get(language, {}).get(message_id)
        if text is None:
            # Every catalog should have every message (a test checks it); if
            # one slips through, English beats silence.
            text = self._texts[SOURCE_LANGUAGE].get(message_id)
            if text is None:
                raise MissingText(message_id)
            logger.warning("message %s missing in catalog %s", message_id, language)
        return text.format_map(_Values(values)) if values else text

    def message_ids(self) -> set[str]:
        return set(self._texts[SOURCE_LANGUAGE])

    def stats(self) -> list[CatalogStats]:
        source_ids = self.message_ids()
        result = []
        for language, catalog in self._catalogs.items():
            present = set(self._texts[language])
            fuzzy = sum(1 for message in catalog if message.id and message.string and message.fuzzy)
            result.append(
                CatalogStats(
                    language=language,
                    messages=len(present & source_ids),
                    missing=len(source_ids - present),
                    awaiting_review=fuzzy,
                )
            )
        return result


def write_template(locales_dir: Path) -> Path:
    """Write `messages.pot` from the English catalog, the source of every message.

    Translators start a new language or merge new messages from it
    (`pybabel init` / `pybabel update`); the comments say where each message
    appears and which facts it states.
    """
    source = load_catalog(locales_dir, SOURCE_LANGUAGE)
    template = Catalog(
        project="hotline", version="1", copyright_holder="the hotline's authors", fuzzy=False
    )
    for message in source:
        if message.id:
            template.add(message.id, "", auto_comments=message.auto_comments)
    path = locales_dir / f"{DOMAIN}.pot"
    with path.open("wb") as handle:
        write_po(handle, template, width=76, omit_header=False, include_previous=False)
    return path
