"""Replies in the encoding the worker's phone reads: Unicode, or Zawgyi.

Phones with a Zawgyi font show Unicode Burmese as garbage. A worker whose
Burmese arrives in Zawgyi beyond doubt (`NormalisedText.encoding`) is
answered in Zawgyi from then on, and once, the first time, offered a button
to go back to Unicode; a later message that is Unicode beyond doubt moves
them back. What the worker chooses with the buttons is kept and wins over
what their messages show, as the language they choose does.

Everything is stored in Unicode (staff read it in the console, the engine
and the search work with it); the one conversion is on the way out, when a
reply is handed to the platform (`bot/outbox.py`, the web chat): every kind
of reply, the engine's, the hotline's own, staff's, closings and alerts,
takes it. Button titles are converted, payloads are not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from bot.normalise import UNICODE, ZAWGYI, unicode_to_zawgyi
from bot.responses import Button, Reply
from bot.texts import Texts

ENCODINGS: Final = frozenset({UNICODE, ZAWGYI})
# The switch buttons; the hotline answers them itself, the engine never
# sees them.
CHOOSE_UNICODE: Final = "/encoding_unicode"
CHOOSE_ZAWGYI: Final = "/encoding_zawgyi"
ENCODING_PAYLOADS: Final = {CHOOSE_UNICODE: UNICODE, CHOOSE_ZAWGYI: ZAWGYI}
# Tags of the hotline's own replies about the encoding.
OFFER_TAG: Final = "encoding_offer"
CHOSEN_TAG: Final = "encoding_chosen"


def effective_encoding(*, choice: str | None, detected: str | None) -> str:
    """The encoding to write to a worker in: their choice, else what their
    messages showed, else Unicode."""
    return choice or detected or UNICODE


def is_zawgyi(*, choice: str | None, detected: str | None) -> bool:
    return effective_encoding(choice=choice, detected=detected) == ZAWGYI


def needs_offer(*, choice: str | None, detected: str | None, offered_at: datetime | None) -> bool:
    """Whether a worker just moved to Zawgyi by their messages is to be
    offered Unicode: once, and not after they chose."""
    return choice is None and detected == ZAWGYI and offered_at is None


def readable(text: str, encoding: str) -> str:
    """A stored (Unicode) text as the worker's phone reads it."""
    return unicode_to_zawgyi(text) if encoding == ZAWGYI else text


def readable_buttons(buttons: Iterable[dict[str, str]], encoding: str) -> list[dict[str, str]]:
    """Stored buttons with their titles as the worker's phone reads them."""
    return [{**button, "title": readable(button["title"], encoding)} for button in buttons]


class EncodingReplies:
    """The hotline's words about the encoding, from the catalogs."""

    def __init__(self, texts: Texts) -> None:
        self._texts = texts

    def _button(self, language: str, encoding: str) -> Button:
        payload = CHOOSE_UNICODE if encoding == UNICODE else CHOOSE_ZAWGYI
        return Button(self._texts.get(language, f"encoding.{encoding}"), payload)

    def offer(self, language: str) -> Reply:
        """Told once, in Zawgyi: replies now come in Zawgyi; Unicode is a press away."""
        return Reply(
            text=self._texts.get(language, "encoding_offer"),
            buttons=[self._button(language, UNICODE)],
            tag=OFFER_TAG,
        )

    def chosen(self, encoding: str, language: str) -> Reply:
        """The worker chose: replies now come in `encoding`; the other is a press away."""
        other = ZAWGYI if encoding == UNICODE else UNICODE
        return Reply(
            text=self._texts.get(language, f"encoding_chosen.{encoding}"),
            buttons=[self._button(language, other)],
            tag=CHOSEN_TAG,
        )
