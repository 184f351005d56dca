"""LINE: the signed webhook in, replies and pushes out (line-bot-sdk v3, async).

The webhook verifies `X-Line-Signature` over the raw body, drops events LINE
redelivers (by `webhookEventId`), stores each event and answers 200 at once
(LINE waits two seconds); the answer follows in the background.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import aiohttp
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.models.events import UnknownEvent
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import (
    AudioMessageContent,
    Event,
    FileMessageContent,
    FollowEvent,
    GroupSource,
    ImageMessageContent,
    JoinEvent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    RoomSource,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
    VideoMessageContent,
)

from bot.channels.base import (
    ChannelSink,
    DeliveryError,
    InboundMessage,
    Media,
    MediaTooLarge,
    OutboundMessage,
    RecentChats,
    Refusal,
    WebhookRefused,
    content_type_of,
)
from bot.conversations.models import MessageKind
from bot.splitting import split_text, utf16_units
from core.settings import Settings

logger = logging.getLogger(__name__)

CHANNEL = "line"
DEFAULT_API = "https://api.line.me"
DEFAULT_DATA_API = "https://api-data.line.me"
TEXT_LIMIT = 5000  # UTF-16 code units
MESSAGES_PER_REQUEST = 5
QUICK_REPLY_ITEMS = 13
LABEL_LIMIT = 20
SIGNATURE_HEADER = "X-Line-Signature"
# How long a new worker's first answer may wait for their profile's language.
PROFILE_SECONDS = 1.5


class LineChannel:
    name = CHANNEL

    def __init__(
        self,
        *,
        channel_secret: str,
        access_token: str,
        api_base_url: str,
        add_friend_url: str | None = None,
    ) -> None:
        # The SDK's Configuration host overrides every LINE host; set it only
        # for a stand-in, since LINE itself serves content from api-data.
        host = api_base_url.rstrip("/")
        configuration = Configuration(
            access_token=access_token, host=None if host == DEFAULT_API else host
        )
        # A proxy, when the organisation's network needs one, is taken from
        # the environment here, once. The SDK's HTTP session would otherwise
        # look up the proxy variables and ~/.netrc again in a thread for
        # every request: two thread hops per reply, on every turn.
        proxy = urllib.request.getproxies().get("https")
        api_host = urllib.parse.urlsplit(host).hostname or ""
        if proxy and not urllib.request.proxy_bypass(api_host):
            configuration.proxy = proxy
        self._client = AsyncApiClient(configuration)
        # Workers' files come from api-data, or from the stand-in's one host.
        self._data_host = DEFAULT_DATA_API if host == DEFAULT_API else host
        self._access_token = access_token
        self._client.rest_client.pool_manager._trust_env = False
        self._messaging = AsyncMessagingApi(self._client)
        self._blob = AsyncMessagingApiBlob(self._client)
        self._parser = WebhookParser(channel_secret)
        # Where a group member can add the bot as a friend and write to it alone.
        self._add_friend_url = add_friend_url
        self._told = RecentChats()
        # Workers whose profile was asked for lately: asked once, whatever
        # it said (a profile without a language says so every time).
        self._profiles_asked = RecentChats(seconds=3600.0, most=10_000)

    @classmethod
    async def open(cls, settings: Settings, *, polling: bool = False) -> Self | None:
        """The channel, or None (off) without its credentials. LINE has no
        polling: `polling` is for channels that can be read that way."""
        secret, token = settings.line_channel_secret, settings.line_channel_access_token
        if not (secret and token):
            return None
        return cls(
            channel_secret=secret.get_secret_value(),
            access_token=token.get_secret_value(),
            api_base_url=settings.line_api_base_url,
            add_friend_url=settings.line_add_friend_url,
        )

    async def close(self) -> None:
        await self._client.close()

    # Inbound

    async def accept(self, body: bytes, headers: Mapping[str, str], sink: ChannelSink) -> None:
        signature = headers.get(SIGNATURE_HEADER)
        if not signature:
            raise WebhookRefused(Refusal.UNSIGNED, "signature required")
        try:
            text = body.decode("utf-8")
            events = self.parse(text, signature)
        except InvalidSignatureError:
            raise WebhookRefused(Refusal.UNSIGNED, "invalid signature") from None
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            # Signed by LINE but not something we can read.
            raise WebhookRefused(Refusal.MALFORMED, "malformed body") from None
        raw_events: dict[Any, Any] | None = None
        inbound_messages = []
        # Groups and rooms to leave, each with the reply token of its join
        # (None: leave without a word).
        groups: dict[GroupChat, str | None] = {}
        for event in events:
            raw: dict[str, Any] | None = None
            if isinstance(event, UnknownEvent):
                # Read by hand only when the SDK could not (rare: parsing
                # twice costs every webhook).
                if raw_events is None:
                    raw_events = {
                        raw.get("webhookEventId"): raw
                        for raw in json.loads(text).get("events", [])
                        if isinstance(raw, dict)
                    }
                raw = raw_events.get(event.webhook_event_id) or {}
            group = group_chat(event, raw)
            if group is not None:
                # Recognised and dropped here, before anything is kept.
                if event.type == "join":
                    groups[group] = _join_reply_token(event, raw) or groups.get(group) or ""
                elif event.type in GROUP_EVENTS_TO_LEAVE_ON:
                    groups.setdefault(group, None)
                continue
            inbound = self.inbound(event) if raw is None else self.inbound_raw(raw)
            if inbound is not None:
                inbound_messages.append(inbound)
        sink.keep(inbound_messages)
        for group, reply_token in groups.items():
            sink.spawn(self.leave_group(group, reply_token, sink))

    async def leave_group(
        self, group: GroupChat, reply_token: str | None, sink: ChannelSink
    ) -> None:
        """Say once that the hotline works only in private chats (when the
        bot has just joined: `reply_token` is not None), then leave."""
        if reply_token is not None:
            if not self._told.first(group.chat_id):
                return  # a join redelivered: told and left already
            notice = sink.group_notice(self._add_friend_url)
            message = OutboundMessage(id=0, text=notice, buttons=[], retry_key=str(uuid.uuid4()))
            try:
                if not reply_token or not await self._reply_or_not(reply_token, message):
                    await self.push(group.chat_id, message)
            except DeliveryError as error:
                logger.warning("group notice not sent: %s", error.reason)
        leave = (
            self._messaging.leave_group(group.chat_id)
            if group.kind == "group"
            else self._messaging.leave_room(group.chat_id)
        )
        try:
            await self._call(leave)
        except DeliveryError as error:
            # Tried again when the group's next message comes.
            logger.warning("leaving a LINE %s failed: %s", group.kind, error.reason)
        else:
            logger.info("left a LINE %s", group.kind)

    async def _reply_or_not(self, reply_token: str, message: OutboundMessage) -> bool:
        try:
            return bool(await self.reply(reply_token, [message]))
        except DeliveryError as error:
            logger.info("group notice by reply refused (%s), pushed", error.reason)
            return False

    def parse(self, body: str, signature: str) -> list[Event]:
        events: list[Event] = self._parser.parse(body, signature)
        return events

    @staticmethod
    def inbound(event: Event) -> InboundMessage | None:
        """The hotline's view of a LINE event; None for events it ignores."""
        source = event.source
        # Only one-to-one chats: the hotline never speaks in groups, where
        # others (an employer, a broker) could read along.
        if not isinstance(source, UserSource) or not source.user_id:
            return None
        base: dict[str, Any] = {
            "channel": CHANNEL,
            "channel_user_id": source.user_id,
            "event_id": event.webhook_event_id,
        }
        if isinstance(event, FollowEvent):
            return InboundMessage(kind=MessageKind.START, reply_token=event.reply_token, **base)
        if isinstance(event, UnfollowEvent):
            return InboundMessage(kind=MessageKind.UNFOLLOW, **base)
        if isinstance(event, PostbackEvent):
            data = event.postback.data
            return InboundMessage(
                kind=MessageKind.BUTTON,
                text=data,
                payload=data,
                reply_token=event.reply_token,
                **base,
            )
        if not isinstance(event, MessageEvent):
            return None
        content = event.message
        common = {**base, "reply_token": event.reply_token, "platform_message_id": content.id}
        if isinstance(content, TextMessageContent):
            return InboundMessage(kind=MessageKind.TEXT, text=content.text, **common)
        if isinstance(content, LocationMessageContent):
            location = {
                "latitude": content.latitude,
                "longitude": content.longitude,
                "title": content.title,
                "address": content.address,
            }
            return InboundMessage(kind=MessageKind.LOCATION, location=location, **common)
        media_kinds = {
            ImageMessageContent: MessageKind.IMAGE,
            VideoMessageContent: MessageKind.VIDEO,
            AudioMessageContent: MessageKind.AUDIO,
            FileMessageContent: MessageKind.FILE,
        }
        for content_type, kind in media_kinds.items():
            if isinstance(content, content_type):
                media = {"file_name": getattr(content, "file_name", None)}
                return InboundMessage(kind=kind, media=media, **common)
        if isinstance(content, StickerMessageContent):
            return InboundMessage(kind=MessageKind.STICKER, **common)
        return InboundMessage(kind=MessageKind.UNSUPPORTED, **common)

    @staticmethod
    def inbound_raw(raw: dict[str, Any]) -> InboundMessage | None:
        """A message the SDK could not read (LINE added or changed a field).

        Read the few fields the hotline needs by hand rather than lose what
        a worker wrote.
        """
        found = raw.get("source")
        source: dict[str, Any] = found if isinstance(found, dict) else {}
        user_id = source.get("userId")
        event_id = raw.get("webhookEventId")
        if source.get("type") != "user" or not _text(user_id) or not _text(event_id):
            return None
        base: dict[str, Any] = {
            "channel": CHANNEL,
            "channel_user_id": user_id,
            "event_id": str(event_id),
            "reply_token": _text(raw.get("replyToken")),
        }
        if raw.get("type") == "postback":
            postback = raw.get("postback")
            data = _text(postback.get("data")) if isinstance(postback, dict) else None
            if data is None:
                return None
            return InboundMessage(kind=MessageKind.BUTTON, text=data, payload=data, **base)
        if raw.get("type") != "message":
            return None
        message = raw.get("message")
        if not isinstance(message, dict):
            return None
        kinds = {
            "text": MessageKind.TEXT,
            "image": MessageKind.IMAGE,
            "video": MessageKind.VIDEO,
            "audio": MessageKind.AUDIO,
            "file": MessageKind.FILE,
            "sticker": MessageKind.STICKER,
        }
        kind = kinds.get(str(message.get("type")), MessageKind.UNSUPPORTED)
        return InboundMessage(
            kind=kind,
            text=(_text(message.get("text")) or "") if kind is MessageKind.TEXT else "",
            platform_message_id=_text(message.get("id")),
            **base,
        )

    # Outbound

    @staticmethod
    def _quick_reply(buttons: list[dict[str, str]]) -> dict[str, Any] | None:
        if not buttons:
            return None
        items = []
        for button in buttons[:QUICK_REPLY_ITEMS]:
            title = button["title"]
            label = title if len(title) <= LABEL_LIMIT else title[: LABEL_LIMIT - 1] + "…"
            items.append(
                {
                    "type": "action",
                    "action": {
                        "type": "postback",
                        "label": label,
                        "data": button["payload"],
                        "displayText": title,
                    },
                }
            )
        return {"items": items}

    def _platform_messages(self, message: OutboundMessage) -> list[dict[str, Any]]:
        parts = split_text(message.text, TEXT_LIMIT, utf16_units)
        result: list[dict[str, Any]] = [{"type": "text", "text": part} for part in parts]
        quick_reply = self._quick_reply(message.buttons)
        if quick_reply:
            result[-1]["quickReply"] = quick_reply
        return result

    async def reply(self, reply_token: str, messages: Sequence[OutboundMessage]) -> int:
        batch: list[dict[str, Any]] = []
        carried = 0
        for message in messages:
            parts = self._platform_messages(message)
            if len(batch) + len(parts) > MESSAGES_PER_REQUEST:
                break
            batch.extend(parts)
            carried += 1
        if not carried:
            return 0
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": batch})
        await self._call(self._messaging.reply_message(request))
        return carried

    async def push(self, recipient: str, message: OutboundMessage) -> None:
        parts = self._platform_messages(message)
        for index in range(0, len(parts), MESSAGES_PER_REQUEST):
            chunk = parts[index : index + MESSAGES_PER_REQUEST]
            # One retry key per request, the same on every retry, so LINE
            # drops a push it has already accepted.
            key = message.retry_key
            if index:
                key = str(uuid.uuid5(uuid.UUID(message.retry_key), str(index)))
            request = PushMessageRequest.from_dict({"to": recipient, "messages": chunk})
            try:
                await self._call(self._messaging.push_message(request, x_line_retry_key=key))
            except DeliveryError as error:
                if "409" in error.reason:
                    continue  # already accepted with this retry key
                raise

    async def show_typing(self, recipient: str) -> None:
        request = ShowLoadingAnimationRequest.from_dict({"chatId": recipient, "loadingSeconds": 20})
        await self._call(self._messaging.show_loading_animation(request))

    async def language_of(self, recipient: str) -> str | None:
        """The language of the worker's LINE profile (GET /v2/bot/profile),
        asked once in a while per worker, and never for long: the worker's
        first answer waits for it. (Asked after the webhook's 200, by the
        answering in the background.)"""
        if not self._profiles_asked.first(recipient):
            return None
        try:
            async with asyncio.timeout(PROFILE_SECONDS):
                profile = await self._call(self._messaging.get_profile(recipient))
        except (DeliveryError, TimeoutError) as error:
            reason = error.reason if isinstance(error, DeliveryError) else "timed out"
            logger.info("LINE profile not read: %s", reason)
            return None
        language = getattr(profile, "language", None)
        return language if isinstance(language, str) and language else None

    async def fetch_media(
        self, platform_message_id: str, media: dict[str, Any], *, max_bytes: int
    ) -> Media:
        # Read in pieces, and stopped past the limit: the SDK's content call
        # reads a whole video into memory first (its streaming option does
        # not work with the async client), so the content is asked for on
        # the SDK's own HTTP session, with its token and proxy.
        url = f"{self._data_host}/v2/bot/message/{urllib.parse.quote(platform_message_id)}/content"
        headers = {"Authorization": f"Bearer {self._access_token}"}
        session = self._client.rest_client.pool_manager
        proxy = self._client.configuration.proxy
        try:
            async with session.get(url, headers=headers, proxy=proxy) as response:
                if response.status != 200:
                    raise DeliveryError(
                        f"content: status {response.status}",
                        retryable=response.status >= 500 or response.status == 429,
                    )
                if (response.content_length or 0) > max_bytes:
                    raise MediaTooLarge(max_bytes)
                content = bytearray()
                async for piece in response.content.iter_chunked(64 * 1024):
                    content += piece
                    if len(content) > max_bytes:
                        raise MediaTooLarge(max_bytes)
                claimed = response.headers.get("Content-Type")
        except aiohttp.ClientError as error:
            raise DeliveryError(type(error).__name__, retryable=True) from error
        return Media(content=bytes(content), content_type=content_type_of(claimed))

    @staticmethod
    async def _call(call: Any) -> Any:
        try:
            return await call
        except ApiException as error:
            code = error.status or 0
            retry_after = _retry_after(error.headers)
            raise DeliveryError(
                f"LINE answered {code}",
                retryable=code == 429 or code >= 500,
                retry_after=retry_after,
            ) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise DeliveryError(f"network: {type(error).__name__}", retryable=True) from None
        except ValueError as error:
            # LINE answered 2xx (errors raise ApiException) but the SDK could
            # not read the body: the message was accepted, and sending it
            # again would show it twice.
            logger.warning("unreadable LINE response taken as accepted: %s", type(error).__name__)
            return None


@dataclass(frozen=True)
class GroupChat:
    kind: str  # "group" or "room" (a chat of several people without a group)
    chat_id: str


# A group's events that show the bot is still in it; others (members
# joining or leaving, the bot removed) need nothing.
GROUP_EVENTS_TO_LEAVE_ON = frozenset({"message", "postback"})


def group_chat(event: Event, raw: dict[str, Any] | None = None) -> GroupChat | None:
    """The group or room an event comes from; None for a one-to-one chat.

    `raw` is the event as LINE sent it, for an event the SDK could not read.
    """
    if raw is None:
        source = event.source
        if isinstance(source, GroupSource) and source.group_id:
            return GroupChat("group", source.group_id)
        if isinstance(source, RoomSource) and source.room_id:
            return GroupChat("room", source.room_id)
        return None
    found = raw.get("source")
    fields: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = fields.get("type")
    chat_id = _text(fields.get(f"{kind}Id")) if kind in ("group", "room") else None
    return GroupChat(str(kind), chat_id) if chat_id else None


def _join_reply_token(event: Event, raw: dict[str, Any] | None) -> str | None:
    if raw is not None:
        return _text(raw.get("replyToken"))
    return event.reply_token if isinstance(event, JoinEvent) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
