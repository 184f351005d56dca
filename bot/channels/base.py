"""What every channel adapter hands to the hotline, and gets back.

An adapter verifies the platform's request, parses it into `InboundMessage`s,
passes each to `Hotline.receive`, and delivers the `Reply`s in the platform's
own form. Adding a channel touches nothing outside its module.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class InboundKind(enum.StrEnum):
    TEXT = "text"  # typed by the worker
    BUTTON = "button"  # a button the hotline offered: `payload` is set
    START = "start"  # the worker opened the chat (web chat load, /start, follow)
    UNSUPPORTED = "unsupported"  # a kind of message the hotline cannot read


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    channel_user_id: str
    kind: InboundKind
    text: str = ""
    payload: str | None = None
