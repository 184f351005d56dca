"""What every channel adapter hands to the hotline, and how it delivers.

An adapter knows its platform's SDK and nothing of the web app: it verifies
a webhook's body and headers (`accept`), parses them into `InboundMessage`s,
hands those to a narrow `ChannelSink` (kept on disk before the platform gets
its 200), and delivers stored replies in the platform's own form. A refused
webhook raises `WebhookRefused`; the app's edge answers it with a status.
Adding a channel touches its module and the registry (`api/channels.py`).

Group chats are recognised before anything reaches the sink: added to one,
the bot says once that it works only in private chats (`group_notice`) and
leaves; whatever still comes from a group is dropped and the bot leaves
again. Nothing of a group is kept: no worker, no message, no inbox file.
"""

from __future__ import annotations

import enum
import re
import time
from collections import OrderedDict
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.conversations.models import MessageKind

# Kinds the engine reads; the rest the hotline answers itself.
ENGINE_KINDS = frozenset({MessageKind.TEXT, MessageKind.BUTTON, MessageKind.START})
MEDIA_KINDS = frozenset({MessageKind.IMAGE, MessageKind.VIDEO, MessageKind.AUDIO, MessageKind.FILE})


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    channel_user_id: str
    kind: MessageKind
    text: str = ""
    payload: str | None = None
    # The platform's id for this event, to drop redeliveries.
    event_id: str | None = None
    platform_message_id: str | None = None
    reply_token: str | None = None
    location: dict[str, Any] | None = None
    # What the platform says the media is (Telegram gives a file id here).
    media: dict[str, Any] = field(default_factory=dict)
    # The language the platform says the worker uses, as it says it (a BCP
    # 47 tag, or a browser's Accept-Language): the first guess for a worker
    # nothing else tells of (`bot.language.platform_language`).
    language_hint: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    id: int
    text: str
    buttons: list[dict[str, str]]
    retry_key: str


@dataclass(frozen=True)
class Media:
    content: bytes
    content_type: str


class DeliveryError(Exception):
    """The platform did not accept a message.

    `retryable` for network errors, 5xx and 429; `retry_after` when the
    platform said how long to wait.
    """

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class MediaTooLarge(DeliveryError):
    """A worker's file over the hotline's limit: not fetched, not retried."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"larger than {max_bytes} bytes", retryable=False)


# A content type as platforms send it ("image/jpeg"); anything else, or
# longer, is kept as a plain file's.
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,40}/[a-z0-9][a-z0-9!#$&^_.+-]{0,60}")
PLAIN_FILE = "application/octet-stream"


def content_type_of(claimed: str | None) -> str:
    """The type a platform claims for a file, checked: what the console later
    serves the file as must be a plain, short type."""
    value = (claimed or "").split(";")[0].strip().lower()
    return value if _CONTENT_TYPE.fullmatch(value) else PLAIN_FILE


class Refusal(enum.StrEnum):
    """Why a webhook is not taken."""

    # No proof that the platform sent it (a missing or wrong signature).
    UNSIGNED = "unsigned"
    # The proof given is not the one agreed with the platform.
    WRONG_PROOF = "wrong_proof"
    # Proven, but not something the channel can read.
    MALFORMED = "malformed"


class WebhookRefused(Exception):
    def __init__(self, refusal: Refusal, reason: str) -> None:
        super().__init__(reason)
        self.refusal = refusal
        self.reason = reason


class ChannelSink(Protocol):
    """Where a channel hands what arrives: all it may touch of the hotline."""

    def keep(self, messages: Sequence[InboundMessage]) -> None:
        """On disk before the webhook's 200; storing and answering follow."""
        ...

    def spawn(self, work: Coroutine[Any, Any, Any]) -> Any:
        """Side work (answering a button press) the hotline keeps track of."""
        ...

    def group_notice(self, link: str | None) -> str:
        """What the bot says once in a group it was added to, before leaving:
        that it works only in private chats, with `link` to one."""
        ...


class RecentChats:
    """Group chats told of late, so that a redelivered join is not told twice.

    Only the chats' platform ids, in memory, for a while: nothing of a
    group is kept.
    """

    def __init__(self, *, seconds: float = 600.0, most: int = 1000) -> None:
        self._seconds = seconds
        self._most = most
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first(self, chat_id: str) -> bool:
        """True the first time `chat_id` is named within the while."""
        now = time.monotonic()
        while self._seen and next(iter(self._seen.values())) < now - self._seconds:
            self._seen.popitem(last=False)
        if chat_id in self._seen:
            return False
        self._seen[chat_id] = now
        while len(self._seen) > self._most:
            self._seen.popitem(last=False)
        return True


class ChannelAdapter(Protocol):
    name: str

    async def accept(self, body: bytes, headers: Mapping[str, str], sink: ChannelSink) -> None:
        """Verify and read one webhook, handing its messages to `sink`;
        raises `WebhookRefused` for what it will not take."""
        ...

    async def close(self) -> None:
        """Release the SDK's connections."""
        ...

    async def reply(self, reply_token: str, messages: Sequence[OutboundMessage]) -> int:
        """Send with a free reply token; returns how many messages it carried (0: none)."""
        ...

    async def push(self, recipient: str, message: OutboundMessage) -> None:
        """Send one stored message (in as many platform messages as it needs)."""
        ...

    async def show_typing(self, recipient: str) -> None:
        """Let the worker see that an answer is coming."""
        ...

    async def fetch_media(
        self, platform_message_id: str, media: dict[str, Any], *, max_bytes: int
    ) -> Media:
        """The bytes of a photo, voice note, video or file the worker sent;
        `MediaTooLarge` (before more than `max_bytes` are read) if larger."""
        ...

    async def language_of(self, recipient: str) -> str | None:
        """What the platform says of the worker's language when its messages
        do not carry it (LINE: the profile), asked for a worker the hotline
        has no language for; None when it says nothing or cannot be asked."""
        ...
