"""Telegram: the webhook with its secret token in, messages out (PTB v22).

The route compares `X-Telegram-Bot-Api-Secret-Token` in constant time,
drops updates Telegram redelivers (by `update_id`), stores and answers 200
at once. The same parsing serves long polling (`hotline telegram poll`) for
organisations without a public HTTPS address.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Self

from telegram import Bot, ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, TypeHandler

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
from bot.splitting import characters, split_text
from core.settings import Settings

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes
START_COMMAND = "/start"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def build_application(*, token: str, api_base_url: str, polling: bool = False) -> Application:  # type: ignore[type-arg]
    base = api_base_url.rstrip("/")
    builder = (
        Application.builder().token(token).base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    )
    if not polling:
        builder = builder.updater(None)
    return builder.build()


class TelegramChannel:
    name = CHANNEL

    def __init__(self, *, application: Application, webhook_secret: str | None) -> None:  # type: ignore[type-arg]
        self.application = application
        self._secret = webhook_secret
        self._told = RecentChats()

    @classmethod
    async def open(cls, settings: Settings, *, polling: bool = False) -> Self | None:
        """The channel, started, or None (off) without a bot token. With
        `polling` updates are fetched by `start_polling`, not the webhook."""
        if not settings.telegram_bot_token:
            return None
        application = build_application(
            token=settings.telegram_bot_token.get_secret_value(),
            api_base_url=settings.telegram_api_base_url,
            polling=polling,
        )
        await application.initialize()
        if not polling:
            # Webhook mode: updates arrive through `accept`; polling mode
            # starts the application with its updater later.
            await application.start()
        secret = settings.telegram_webhook_secret
        return cls(
            application=application, webhook_secret=secret.get_secret_value() if secret else None
        )

    async def stop_polling(self) -> None:
        application = self.application
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()

    async def close(self) -> None:
        await self.stop_polling()
        await self.application.shutdown()

    @property
    def bot(self) -> Bot:
        bot: Bot = self.application.bot
        return bot

    def secret_matches(self, presented: str | None) -> bool:
        if not self._secret or presented is None:
            return False
        return hmac.compare_digest(presented.encode(), self._secret.encode())

    # Inbound

    async def accept(self, body: bytes, headers: Mapping[str, str], sink: ChannelSink) -> None:
        if not self.secret_matches(headers.get(SECRET_HEADER)):
            raise WebhookRefused(Refusal.WRONG_PROOF, "secret token required")
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            update = self.parse(data)
            # Read now, so that a field of the wrong shape is refused here
            # rather than failing once the update is kept.
            inbound = self.inbound(update)
        except (ValueError, KeyError, TypeError, AttributeError):
            # With the right secret, but not an update the Bot API sends.
            raise WebhookRefused(Refusal.MALFORMED, "malformed update") from None
        self._keep(update, inbound, sink)

    def _keep(self, update: Update, inbound: InboundMessage | None, sink: ChannelSink) -> None:
        """One update kept for storing and answering (webhook and polling alike)."""
        if update.callback_query is not None:
            sink.spawn(self.answer_callback(update))
        group = self.group_chat(update)
        if group is not None:
            # Recognised and dropped here, before anything is kept.
            if group.leave:
                sink.spawn(self.leave_group(group, sink))
            return
        if inbound is not None:
            sink.keep([inbound])

    def group_chat(self, update: Update) -> GroupChat | None:
        """The group, supergroup or channel an update comes from, and what to
        do there; None for a private chat (or an update without a chat)."""
        chat = update.effective_chat
        if chat is None or chat.type == ChatType.PRIVATE:
            return None
        membership = update.my_chat_member
        if membership is not None:
            now_in = _in_chat(membership.new_chat_member)
            joined = now_in and not _in_chat(membership.old_chat_member)
            # Removed from the chat: nothing to do.
            return GroupChat(chat.id, joined=joined, leave=now_in)
        message = update.effective_message
        left = message.left_chat_member if message is not None else None
        if left is not None and left.id == self.bot.id:
            return GroupChat(chat.id, joined=False, leave=False)  # out already
        if message is not None and (
            any(member.id == self.bot.id for member in message.new_chat_members or ())
            or message.group_chat_created
            or message.supergroup_chat_created
            or message.channel_chat_created
        ):
            # The bot added: told as when `my_chat_member` says so (whichever
            # comes first; the other is then passed over).
            return GroupChat(chat.id, joined=True, leave=True)
        # Anything else from a group shows the bot is still there.
        return GroupChat(chat.id, joined=False, leave=True)

    async def leave_group(self, group: GroupChat, sink: ChannelSink) -> None:
        """Say once that the hotline works only in private chats (when the
        bot has just been added), then leave."""
        if group.joined:
            if not self._told.first(str(group.chat_id)):
                return  # told and left already (or being told now)
            notice = sink.group_notice(self.bot.link if self.bot.username else None)
            try:
                await self._call(self.bot.send_message(chat_id=group.chat_id, text=notice))
            except DeliveryError as error:
                logger.warning("group notice not sent: %s", error.reason)
        try:
            await self._call(self.bot.leave_chat(chat_id=group.chat_id))
        except DeliveryError as error:
            # Tried again when the group's next update comes.
            logger.warning("leaving a Telegram group failed: %s", error.reason)
        else:
            logger.info("left a Telegram group")

    async def start_polling(self, sink: ChannelSink, *, attempts: int = 5) -> None:
        """Fetch updates by long polling instead of a webhook, into the same pipeline."""

        async def on_update(update: object, context: Any) -> None:
            if not isinstance(update, Update):
                return
            # Polling confirms an update by asking for the next ones, so a
            # store that fails is tried again here rather than lost.
            for attempt in range(1, attempts + 1):
                try:
                    self._keep(update, self.inbound(update), sink)
                    return
                except Exception:
                    if attempt == attempts:
                        raise
                    logger.warning("storing update failed, attempt %s", attempt)
                    await asyncio.sleep(2**attempt)

        self.application.add_handler(TypeHandler(Update, on_update))
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)

    async def set_webhook(self, url: str) -> None:
        """Register `url` with Telegram, with this channel's secret token."""
        await self.bot.set_webhook(
            url=url, secret_token=self._secret, allowed_updates=ALLOWED_UPDATES
        )

    def parse(self, data: dict[str, Any]) -> Update:
        if not isinstance(data.get("update_id"), int):
            raise ValueError("no update id")
        update = Update.de_json(data, self.bot)
        if update is None:
            raise ValueError("not an update")
        return update

    @staticmethod
    def inbound(update: Update) -> InboundMessage | None:
        """The hotline's view of a Telegram update; None for updates it ignores."""
        chat = update.effective_chat
        # Only private chats: the hotline never speaks in groups.
        if chat is None or chat.type != ChatType.PRIVATE:
            return None
        base: dict[str, Any] = {
            "channel": CHANNEL,
            "channel_user_id": str(chat.id),
            "event_id": str(update.update_id),
        }
        # The language of the worker's Telegram app (message.from_user or
        # callback_query.from_user), a first guess at theirs.
        user = update.effective_user
        if user is not None and user.language_code:
            base["language_hint"] = user.language_code
        query = update.callback_query
        if query is not None:
            data = query.data or ""
            return InboundMessage(kind=MessageKind.BUTTON, text=data, payload=data, **base)
        message = update.message
        if message is None:
            return None  # edits, reactions, channel posts: nothing to answer
        base["platform_message_id"] = str(message.message_id)
        if message.text is not None:
            text = message.text
            if text == START_COMMAND or text.startswith(START_COMMAND + " "):
                # A deep link (t.me/bot?start=PARAM) says where the worker came from.
                parameter = text[len(START_COMMAND) :].strip() or None
                return InboundMessage(kind=MessageKind.START, text=text, payload=parameter, **base)
            return InboundMessage(kind=MessageKind.TEXT, text=text, **base)
        if message.location is not None:
            location = {
                "latitude": message.location.latitude,
                "longitude": message.location.longitude,
                "title": message.venue.title if message.venue else None,
                "address": message.venue.address if message.venue else None,
            }
            return InboundMessage(kind=MessageKind.LOCATION, location=location, **base)
        caption = message.caption or ""
        if message.photo:
            largest = message.photo[-1]
            photo = {"file_id": largest.file_id, "mime_type": "image/jpeg"}
            return InboundMessage(kind=MessageKind.IMAGE, text=caption, media=photo, **base)
        for kind, item in (
            (MessageKind.AUDIO, message.voice),
            (MessageKind.AUDIO, message.audio),
            (MessageKind.VIDEO, message.video),
            (MessageKind.FILE, message.document),
        ):
            if item is not None:
                media: dict[str, Any] = {
                    "file_id": item.file_id,
                    "mime_type": getattr(item, "mime_type", None),
                    "file_name": getattr(item, "file_name", None),
                    "file_size": getattr(item, "file_size", None),
                }
                return InboundMessage(kind=kind, text=caption, media=media, **base)
        if message.sticker is not None:
            return InboundMessage(kind=MessageKind.STICKER, **base)
        return InboundMessage(kind=MessageKind.UNSUPPORTED, **base)

    async def answer_callback(self, update: Update) -> None:
        """Stop the button's spinner; Telegram expects an answer to every callback."""
        if update.callback_query is None:
            return
        try:
            await update.callback_query.answer()
        except TelegramError as error:
            logger.info("callback not answered: %s", type(error).__name__)

    # Outbound

    @staticmethod
    def _keyboard(buttons: list[dict[str, str]]) -> InlineKeyboardMarkup | None:
        rows = [
            [InlineKeyboardButton(button["title"], callback_data=button["payload"])]
            for button in buttons
            if len(button["payload"].encode()) <= CALLBACK_DATA_LIMIT
        ]
        return InlineKeyboardMarkup(rows) if rows else None

    async def reply(self, reply_token: str, messages: Sequence[OutboundMessage]) -> int:
        return 0  # Telegram has no reply tokens

    async def push(self, recipient: str, message: OutboundMessage) -> None:
        parts = split_text(message.text, TEXT_LIMIT, characters)
        for index, part in enumerate(parts):
            markup = self._keyboard(message.buttons) if index == len(parts) - 1 else None
            await self._call(
                self.bot.send_message(chat_id=recipient, text=part, reply_markup=markup)
            )

    async def show_typing(self, recipient: str) -> None:
        await self._call(self.bot.send_chat_action(chat_id=recipient, action=ChatAction.TYPING))

    async def fetch_media(
        self, platform_message_id: str, media: dict[str, Any], *, max_bytes: int
    ) -> Media:
        file_id = media.get("file_id")
        if not file_id:
            raise DeliveryError("no file id", retryable=False)
        # Telegram says a file's size in the update and again with its path:
        # a file over the limit is never downloaded.
        if (media.get("file_size") or 0) > max_bytes:
            raise MediaTooLarge(max_bytes)
        telegram_file = await self._call(self.bot.get_file(file_id))
        if (telegram_file.file_size or 0) > max_bytes:
            raise MediaTooLarge(max_bytes)
        content = await self._call(telegram_file.download_as_bytearray())
        if len(content) > max_bytes:
            raise MediaTooLarge(max_bytes)
        return Media(content=bytes(content), content_type=content_type_of(media.get("mime_type")))

    async def language_of(self, recipient: str) -> str | None:
        return None  # every update carries it (`inbound`)

    @staticmethod
    async def _call(call: Any) -> Any:
        try:
            return await call
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise DeliveryError(
                "Telegram asked to wait", retryable=True, retry_after=seconds
            ) from None
        except (Forbidden, BadRequest) as error:
            # The worker blocked the bot, or the request itself is wrong:
            # trying again will not help.
            raise DeliveryError(
                f"Telegram refused: {type(error).__name__}", retryable=False
            ) from None
        except NetworkError as error:
            raise DeliveryError(f"network: {type(error).__name__}", retryable=True) from None
        except TelegramError as error:
            raise DeliveryError(
                f"Telegram error: {type(error).__name__}", retryable=False
            ) from None


@dataclass(frozen=True)
class GroupChat:
    chat_id: int
    # The bot has just been added: it says once that it works only in
    # private chats.
    joined: bool
    # The bot is (still) in the chat.
    leave: bool


IN_CHAT = frozenset(
    {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
)


def _in_chat(member: ChatMember) -> bool:
    if member.status == ChatMemberStatus.RESTRICTED:
        # Restricted, and still a member or not.
        return bool(getattr(member, "is_member", False))
    return member.status in IN_CHAT


# `my_chat_member` tells of the bot added to a group (Telegram sends only the
# kinds listed once a list is given).
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
