"""The path every worker message takes, whatever the channel.

Store first, then answer: a message is committed to the database before the
engine sees it, and every reply is committed before it is handed to the
channel, so nothing a worker sends is lost if a process dies mid-turn.
`accept` stores (and drops platform redeliveries); `answer` answers a
stored message once (`load` reads one back, after a crash or a wait), so
running it again is harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import engine_memory
from bot.attachments import AttachmentStore
from bot.channels.base import (
    ENGINE_KINDS,
    MEDIA_KINDS,
    ChannelAdapter,
    DeliveryError,
    InboundMessage,
    MediaTooLarge,
)
from bot.conversations import service
from bot.conversations.models import (
    Attachment,
    Conversation,
    Direction,
    EscalationReason,
    Message,
    MessageKind,
    MessageStatus,
    Owner,
    Worker,
)
from bot.danger import CALM, Assessment, DangerDetector, Level, Signal, alarms
from bot.danger.replies import DANGER_YES, DOUBT_PAYLOADS, DangerReplies
from bot.encoding import ENCODING_PAYLOADS, EncodingReplies, needs_offer
from bot.engine import EngineClient, EngineReply, EngineUnavailable
from bot.handoff.service import Handoff
from bot.language import detect_by_script, effective_language, platform_language
from bot.latin_language import LatinLanguageModel
from bot.normalise import normalise
from bot.ordering import KeyedLocks
from bot.outbox import Outbox
from bot.responses import Button, Reply, Responses
from bot.texts import Texts
from core.clock import utcnow
from core.settings import Settings

logger = logging.getLogger(__name__)

# Sent to the engine when a worker opens the chat: the engine greets them.
START_PAYLOAD = "/greet"
# Sent to the engine when a worker shares a location (an internal intent).
SHARE_LOCATION_PAYLOAD = "/share_location"
# Inbound messages in these states still need an answer.
UNANSWERED = (MessageStatus.RECEIVED.value, MessageStatus.ENGINE_UNAVAILABLE.value)
SLOW_DOWN = "slow_down"
# A message answered this long after it was stored is being taken up after a
# failure, not answered in its turn: the engine may have answered it already.
TAKEN_UP_AFTER = timedelta(seconds=10)

# What the engine made of a turn: the replies, and the turn's status.
EngineAnswer = tuple[list[Reply], MessageStatus]
# Runs the engine's part of a turn in the background (within the caller's
# limit of turns at once) and hands back its future.
StartAnswer = Callable[[Coroutine[Any, Any, EngineAnswer]], "asyncio.Future[EngineAnswer]"]


# A stored message with its conversation and worker (see `Dialogue.load`);
# built once, as building a query costs about as much as running it.
_TURN_OF_MESSAGE = (
    select(
        Message.conversation_id,
        Message.kind,
        Message.text,
        Message.payload,
        Message.platform_message_id,
        Message.engine_key,
        Message.status,
        Message.created_at,
        Conversation.public_id,
        Conversation.channel,
        Conversation.owner,
        Worker.id.label("worker_id"),
        Worker.channel_user_id,
        Worker.language_choice,
        Worker.language_detected,
        Worker.language_hint,
        service.sent_since(Message.conversation_id, since=bindparam("since")).label("sent_lately"),
    )
    .join(Conversation, Conversation.id == Message.conversation_id)
    .join(Worker, Worker.id == Conversation.worker_id)
    .where(Message.id == bindparam("message_id"))
)

# Where a turn stands when its outcome is stored (see `Dialogue._finish`).
_STANDING_OF_TURN = (
    select(
        Worker.language_choice,
        Worker.language_detected,
        Conversation.owner,
        Message.status,
        Worker.encoding_choice,
        Worker.encoding_detected,
        Worker.zawgyi_offered_at,
        Worker.language_hint,
    )
    .join(Conversation, Conversation.worker_id == Worker.id)
    .join(Message, Message.conversation_id == Conversation.id)
    .where(Message.id == bindparam("message_id"))
)
# A turn's outcome, stored only while it is still unanswered.
_ANSWERED = (
    update(Message)
    .where(Message.id == bindparam("message_id"), Message.status.in_(UNANSWERED))
    .values(status=bindparam("outcome"))
    # The session holds no copy of the message to bring up to date.
    .execution_options(synchronize_session=False)
)
# The worker's text just before a message, if recent: danger can lie in the
# two together ("he is coming back" after "my husband beat me").
_PREVIOUS_TEXT = (
    select(Message.text)
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.direction == Direction.INBOUND.value,
        Message.kind == MessageKind.TEXT.value,
        Message.id < bindparam("message_id"),
        Message.created_at >= bindparam("since"),
    )
    .order_by(Message.id.desc())
    .limit(1)
)
# How far back a previous message still counts as context.
CONTEXT_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Turn:
    """One stored inbound message and what answering it needs."""

    message_id: int
    conversation_id: int
    worker_id: int
    public_id: str
    channel: str
    channel_user_id: str
    owner: str
    language: str
    kind: MessageKind
    text: str
    payload: str | None
    platform_message_id: str | None
    status: str
    # Messages the worker sent within the flood window, this one included.
    sent_lately: int
    # Taken up long after it was stored (after a restart, by the sweep): the
    # engine may have answered it already, for a process that died.
    taken_up: bool = False
    # The key the engine hears the message by (`Message.engine_key`); None
    # for a message stored before keys were given.
    engine_key: str | None = None
    # Nothing says yet which language the worker reads (no choice, no
    # script, nothing from their platform): the channel may be asked.
    language_unset: bool = False
    # What the danger detector made of the message alone (None: not read yet).
    assessment: Assessment | None = field(default=None, compare=False)
    # The engine's answer, asked for while the message was being stored
    # (see `accept`); None when the engine is asked at answering time.
    answering: asyncio.Future[EngineAnswer] | None = field(default=None, compare=False, repr=False)


class WorkerTurns:
    """One turn at a time per worker, different workers in parallel.

    A worker who sends three messages quickly must get answers in order, and
    the engine must see them in order.
    """

    def __init__(self) -> None:
        self._locks = KeyedLocks[tuple[str, str]]()

    @asynccontextmanager
    async def hold(self, channel: str, channel_user_id: str) -> AsyncIterator[None]:
        async with self._locks.hold((channel, channel_user_id)):
            yield


class Dialogue:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        reading: async_sessionmaker[AsyncSession],
        engine: EngineClient,
        texts: Texts,
        latin: LatinLanguageModel,
        responses: Responses,
        danger: DangerDetector,
        danger_replies: DangerReplies,
        attachments: AttachmentStore,
        adapters: Mapping[str, ChannelAdapter],
        outbox: Outbox,
        handoff: Handoff,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        # For reads only (see `create_reading_sessionmaker`).
        self._reading = reading
        self._engine = engine
        self._texts = texts
        self._latin = latin
        self._responses = responses
        self._danger = danger
        self._danger_replies = danger_replies
        self._encoding_replies = EncodingReplies(texts)
        # Sends urgent replies (the emergency numbers) at once.
        self._outbox = outbox
        # The staff queue: danger puts a conversation first, and it is told
        # of messages while staff own a conversation.
        self._handoff = handoff
        self._attachments = attachments
        self._adapters = adapters
        self._settings = settings
        self.turns = WorkerTurns()

    async def receive(self, inbound: InboundMessage) -> list[Reply]:
        """Store, answer, and hand the replies back at once (the web chat)."""
        async with self.turns.hold(inbound.channel, inbound.channel_user_id):
            turn = await self.accept(inbound, start_answer=asyncio.ensure_future)
            if turn is None:
                return []
            return await self.answer(turn, delivered=True)

    async def accept(
        self, inbound: InboundMessage, *, start_answer: StartAnswer | None = None
    ) -> Turn | None:
        """Store an inbound message; None when it is a redelivery already stored.

        Returns the turn as it stands when stored, for answering at once; a
        turn answered later is loaded again (`load`), since turns answered
        in between may have changed it (handed the worker to staff).

        `start_answer`: given when nothing of the worker's waits to be
        answered before this message. An ordinary turn (a returning worker
        talking to the bot, in the language stored for them) then goes to
        the engine as soon as it is read, and the engine works while the
        message is written and committed: the turn's answer waits for one
        commit fewer. The message is already on disk (the inbox, or the web
        chat's request still open), and if storing fails it is asked again
        when it is stored, which the engine takes as the worker repeating it.
        """
        normalised = normalise(inbound.text)
        answering: asyncio.Future[EngineAnswer] | None = None
        try:
            async with self._sessions.begin() as session:
                # Reads before writes: on SQLite the first write takes the
                # database's only write lock until the commit, and every other
                # writer waits for it. (A worker's first message writes here.)
                standing = await service.worker_and_conversation(
                    session=session,
                    channel=inbound.channel,
                    channel_user_id=inbound.channel_user_id,
                    count_sent_since=self._flood_window_start(),
                    event_id=inbound.event_id,
                )
                turn, language_changed = self._turn_of(inbound, normalised.text, standing)
                if inbound.kind is MessageKind.TEXT:
                    # Replies follow the encoding the worker's phone writes in.
                    service.note_detected_encoding(standing.worker, normalised.encoding)
                if start_answer is not None and self._goes_ahead(
                    inbound, turn, standing=standing, language_changed=language_changed
                ):
                    answering = start_answer(self._ask_engine(turn))
                if inbound.event_id is not None and not await service.record_event(
                    session=session, channel=inbound.channel, event_id=inbound.event_id
                ):
                    if answering is not None:
                        # Read as new a moment ago: another process stored it.
                        logger.error("event %s stored twice at once", inbound.event_id)
                        answering.add_done_callback(_collect)
                    return None
                if inbound.kind is not MessageKind.UNFOLLOW:
                    standing.worker.unfollowed_at = None
                if inbound.location is not None:
                    standing.conversation.location = inbound.location
                message = service.add_message(
                    session=session,
                    conversation_id=turn.conversation_id,
                    direction=Direction.INBOUND,
                    status=MessageStatus.RECEIVED,
                    kind=inbound.kind,
                    text=normalised.text,
                    original_text=normalised.original,
                    payload=turn.payload,
                    language=turn.language,
                    platform_message_id=inbound.platform_message_id,
                    reply_token=inbound.reply_token,
                    engine_key=turn.engine_key,
                )
                await session.flush()
                stored = replace(turn, message_id=message.id, answering=answering)
        except BaseException:
            if answering is not None:
                # Not stored: the message is asked again when it is. The
                # engine's answer is dropped (its outcome still collected).
                answering.add_done_callback(_collect)
            raise
        return stored

    def _turn_of(
        self, inbound: InboundMessage, text: str, standing: service.Standing
    ) -> tuple[Turn, bool]:
        """The turn a message makes (its id still unknown), and whether it
        changes the worker's language (noted on the worker)."""
        worker, conversation = standing.worker, standing.conversation
        default = self._settings.hotline_default_language
        before = service.language_of(worker, default=default)
        if inbound.kind is MessageKind.TEXT:
            service.note_detected_language(worker, self._detect(text, worker))
        service.note_platform_language(worker, platform_language(inbound.language_hint))
        language = service.language_of(worker, default=default)
        payload = inbound.payload
        if inbound.kind in MEDIA_KINDS and inbound.media:
            payload = json.dumps(inbound.media)
        turn = Turn(
            message_id=0,  # known once written
            conversation_id=conversation.id,
            worker_id=worker.id,
            public_id=conversation.public_id,
            channel=conversation.channel,
            channel_user_id=worker.channel_user_id,
            owner=conversation.owner,
            language=language,
            kind=inbound.kind,
            text=text,
            payload=payload,
            platform_message_id=inbound.platform_message_id,
            status=MessageStatus.RECEIVED.value,
            sent_lately=standing.sent_lately + 1,
            # Chosen now: the engine may hear the message before it is written.
            engine_key=uuid.uuid4().hex,
            assessment=self._danger.assess(text) if inbound.kind is MessageKind.TEXT else None,
            language_unset=service.has_no_language(worker),
        )
        return turn, language != before

    def _goes_ahead(
        self,
        inbound: InboundMessage,
        turn: Turn,
        *,
        standing: service.Standing,
        language_changed: bool,
    ) -> bool:
        """Whether the turn may reach the engine before it is committed.

        The engine's calls back for responses read the worker's language and
        conversation from the database: only a turn that changes neither may
        go ahead of its commit. Whatever `answer` would not simply hand to
        the engine waits too; so does a redelivery, found by reading.
        """
        if (
            not standing.known
            or language_changed
            or turn.language_unset
            or inbound.location is not None
        ):
            return False
        return (
            turn.kind in ENGINE_KINDS
            and turn.owner == Owner.BOT
            and not self._flooding(turn)
            and not (turn.assessment is not None and turn.assessment.alarm)
            and turn.payload not in DOUBT_PAYLOADS
            and turn.payload not in ENCODING_PAYLOADS
            and not standing.event_seen
        )

    async def answer(self, turn: Turn, *, delivered: bool) -> list[Reply]:
        """Answer a turn once; the replies are stored.

        `delivered`: the channel hands the replies over itself (the web chat
        returns them in its response); otherwise they wait in the outbox.
        """
        if turn.status not in UNANSWERED:
            return []
        if turn.kind is MessageKind.BUTTON and turn.payload in DOUBT_PAYLOADS:
            return await self._answer_doubt(turn, turn.payload, delivered=delivered)
        if turn.kind is MessageKind.BUTTON and turn.payload in ENCODING_PAYLOADS:
            return await self._answer_encoding(turn, turn.payload, delivered=delivered)
        urgent: list[Reply] = []
        first_time = turn.status == MessageStatus.RECEIVED
        assessment = await self._assess(turn) if first_time else CALM
        if assessment.alarm:
            urgent = await self._raise_alarm(turn, assessment, delivered=delivered)
            if assessment.level is Level.DANGER:
                turn = replace(turn, owner=Owner.QUEUED.value)
        if turn.owner != Owner.BOT:
            # Staff own the conversation (or it waits for them): the message
            # is kept for them and the bot stays silent. A photo or voice
            # note is fetched now, as LINE keeps it only for a while; a
            # waiting worker hears where they stand (not on every message).
            if first_time and turn.kind in MEDIA_KINDS:
                await self._keep_media(turn)
            waiting = await self._finish(turn, [], MessageStatus.FOR_STAFF, delivered=delivered)
            self._handoff.worker_wrote(
                conversation_id=turn.conversation_id,
                message_id=turn.message_id,
                kind=turn.kind,
            )
            return urgent + waiting
        if turn.kind in ENGINE_KINDS and self._flooding(turn):
            slow_down = [] if await self._asked_to_slow_down(turn) else [self._slow_down(turn)]
            await self._finish(turn, slow_down, MessageStatus.RATE_LIMITED, delivered=delivered)
            return urgent + slow_down
        if first_time and turn.language_unset and turn.kind in ENGINE_KINDS:
            turn = await self._platform_language(turn)
        if turn.answering is not None:
            replies, status = await turn.answering
        else:
            replies, status = await self._answer(turn)
        # The engine may recognise the emergency too: say it once.
        if urgent:
            numbers = urgent[0].text
            replies = [r for r in replies if not r.text or r.text not in numbers]
        replies = await self._finish(turn, replies, status, delivered=delivered)
        return urgent + replies

    async def _answer(self, turn: Turn) -> EngineAnswer:
        if turn.kind in ENGINE_KINDS:
            return await self._ask_engine(turn)
        if turn.kind is MessageKind.UNFOLLOW:
            return [], MessageStatus.ANSWERED
        if turn.kind in MEDIA_KINDS:
            return [await self._keep_media(turn)], MessageStatus.ANSWERED
        if turn.kind is MessageKind.LOCATION:
            # The engine decides what a location means: in a report it
            # answers "where"; otherwise it is kept and acknowledged.
            replies, status = await self._ask_engine(turn)
            if status is MessageStatus.ENGINE_UNAVAILABLE:
                reply = Reply(text=self._texts.get(turn.language, "location_received"))
                return [reply], MessageStatus.ANSWERED
            return replies, status
        # Stickers and anything else the hotline cannot read.
        reply = Reply(text=self._texts.get(turn.language, "unsupported_message"))
        return [reply], MessageStatus.ANSWERED

    async def _platform_language(self, turn: Turn) -> Turn:
        """A worker nothing tells the language of yet: what their platform
        says (LINE: their profile), kept as the first guess and answered in.
        Asked here, in the background after the webhook's 200, not when the
        webhook comes: LINE waits two seconds for it."""
        adapter = self._adapters.get(turn.channel)
        if adapter is None:
            return turn
        language = platform_language(await adapter.language_of(turn.channel_user_id))
        if language is None:
            return turn
        async with self._sessions.begin() as session:
            await service.keep_platform_language(
                session=session, worker_id=turn.worker_id, hint=language
            )
        return replace(turn, language=language, language_unset=False)

    async def _keep_media(self, turn: Turn) -> Reply:
        """The worker's file fetched and kept, and what they are told."""
        failed = Reply(text=self._texts.get(turn.language, "attachment_failed"))
        adapter = self._adapters.get(turn.channel)
        if adapter is None or turn.platform_message_id is None:
            return failed
        media = json.loads(turn.payload) if turn.payload else {}
        limit = self._settings.hotline_media_max_bytes
        try:
            fetched = await adapter.fetch_media(turn.platform_message_id, media, max_bytes=limit)
        except MediaTooLarge:
            logger.info("media of message %s over the limit: not kept", turn.message_id)
            megabytes = max(1, limit // (1024 * 1024))
            text = self._texts.get(turn.language, "attachment_too_large", megabytes=str(megabytes))
            return Reply(text=text)
        except DeliveryError as error:
            logger.warning("media of message %s not fetched: %s", turn.message_id, error.reason)
            return failed
        # Hashing and encrypting a large file takes a while: not on the loop
        # that answers every other worker.
        stored = await asyncio.to_thread(self._attachments.describe, fetched.content)
        async with self._sessions.begin() as session:
            attachment = Attachment(
                message_id=turn.message_id,
                content_type=fetched.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.storage_key,
            )
            session.add(attachment)
        try:
            await asyncio.to_thread(self._attachments.write, stored, fetched.content)
        except OSError:
            logger.exception("media of message %s not written", turn.message_id)
            async with self._sessions.begin() as session:
                await session.execute(delete(Attachment).where(Attachment.id == attachment.id))
            return failed
        return Reply(text=self._texts.get(turn.language, "attachment_received"))

    async def _waiting_news(self, turn: Turn) -> list[Reply]:
        return await self._handoff.waiting_news(
            conversation_id=turn.conversation_id, language=turn.language
        )

    def _slow_down(self, turn: Turn) -> Reply:
        return Reply(text=self._texts.get(turn.language, SLOW_DOWN), tag=SLOW_DOWN)

    def _flood_window_start(self) -> datetime:
        return utcnow() - timedelta(seconds=self._settings.hotline_flood_window_seconds)

    async def _assess(self, turn: Turn) -> Assessment:
        """What the detector makes of a worker's text, with their previous one."""
        if turn.kind is not MessageKind.TEXT:
            return CALM
        alone = turn.assessment or self._danger.assess(turn.text)
        if alone.alarm:
            return alone
        async with self._reading() as session:
            previous = (
                await session.execute(
                    _PREVIOUS_TEXT,
                    {
                        "conversation_id": turn.conversation_id,
                        "message_id": turn.message_id,
                        "since": utcnow() - CONTEXT_WINDOW,
                    },
                )
            ).scalar_one_or_none()
        return self._danger.assess(turn.text, previous=previous) if previous else alone

    async def _raise_alarm(
        self, turn: Turn, assessment: Assessment, *, delivered: bool
    ) -> list[Reply]:
        """The emergency numbers before anything else, whoever owns the
        conversation and whatever the engine makes of it; for danger, staff
        first as well."""
        logger.warning(
            "danger (%s, %s) in conversation %s",
            assessment.level.value,
            assessment.signal.value if assessment.signal else "",
            turn.conversation_id,
        )
        urgent = self._danger_replies.for_alarm(assessment, turn.language)
        await self._store_replies(turn, urgent, delivered=delivered, alarm=assessment)
        if not delivered:
            await self._outbox.send(turn.conversation_id)
        if assessment.level is Level.DANGER:
            # Staff first, at any hour: the conversation goes to the front
            # of the queue and from now on it is theirs, so the bot does not
            # go on with a form or a rights answer.
            await self._handoff.escalate(
                public_id=turn.public_id, reason=EscalationReason.EMERGENCY
            )
        return urgent

    async def _answer_doubt(self, turn: Turn, payload: str, *, delivered: bool) -> list[Reply]:
        """The worker answered "is someone in danger right now?".

        Yes takes the emergency path: staff first (the numbers are sent
        already). No goes on: the engine answered their message when it
        came, so the worker is thanked and the conversation stays where it
        was (a report form still waits for its answer).
        """
        answer = alarms.WorkerAnswer.YES if payload == DANGER_YES else alarms.WorkerAnswer.NO
        async with self._sessions.begin() as session:
            pending = await alarms.answer_doubt(
                session=session, conversation_id=turn.conversation_id, answer=answer
            )
            if not pending and answer is alarms.WorkerAnswer.YES:
                # Pressed again, or long after: danger now all the same.
                alarms.record(
                    session=session,
                    conversation_id=turn.conversation_id,
                    message_id=turn.message_id,
                    assessment=Assessment(Level.DANGER, Signal.WORKER),
                )
        if answer is alarms.WorkerAnswer.YES:
            await self._handoff.escalate(
                public_id=turn.public_id, reason=EscalationReason.EMERGENCY
            )
            turn = replace(turn, owner=Owner.QUEUED.value)
        status = MessageStatus.ANSWERED if turn.owner == Owner.BOT else MessageStatus.FOR_STAFF
        reply = self._danger_replies.answered(payload, turn.language)
        replies = await self._finish(turn, [reply], status, delivered=delivered)
        if turn.owner != Owner.BOT:
            self._handoff.worker_wrote(
                conversation_id=turn.conversation_id, message_id=turn.message_id, kind=turn.kind
            )
        return replies

    async def _answer_encoding(self, turn: Turn, payload: str, *, delivered: bool) -> list[Reply]:
        """The worker pressed "Unicode" or "Zawgyi": their choice is kept
        (their messages no longer decide), and confirmed in it, with the
        button back. Whoever owns the conversation: it is about their phone."""
        encoding = ENCODING_PAYLOADS[payload]
        async with self._sessions.begin() as session:
            await service.choose_encoding(
                session=session, worker_id=turn.worker_id, encoding=encoding
            )
        status = MessageStatus.ANSWERED if turn.owner == Owner.BOT else MessageStatus.FOR_STAFF
        reply = self._encoding_replies.chosen(encoding, turn.language)
        replies = await self._finish(turn, [reply], status, delivered=delivered)
        if turn.owner != Owner.BOT:
            self._handoff.worker_wrote(
                conversation_id=turn.conversation_id, message_id=turn.message_id, kind=turn.kind
            )
        return replies

    def _flooding(self, turn: Turn) -> bool:
        return turn.sent_lately > self._settings.hotline_flood_messages

    async def _asked_to_slow_down(self, turn: Turn) -> bool:
        window = timedelta(seconds=self._settings.hotline_flood_window_seconds)
        async with self._reading() as session:
            return await service.asked_to_slow_down_since(
                session=session,
                conversation_id=turn.conversation_id,
                since=utcnow() - window,
                tag=SLOW_DOWN,
            )

    def _detect(self, text: str, worker: Worker) -> str | None:
        by_script = detect_by_script(text)
        if by_script is not None or worker.language_detected is not None:
            return by_script
        # Latin letters decide only the first language: a worker who wrote
        # Burmese script and then types "ok" is still Burmese.
        guess = self._latin.guess(text)
        return guess.language if guess else None

    async def load(self, message_id: int) -> Turn | None:
        """The stored message with its conversation and worker, in one query."""
        async with self._reading() as session:
            row = (
                await session.execute(
                    _TURN_OF_MESSAGE,
                    {"message_id": message_id, "since": self._flood_window_start()},
                )
            ).one_or_none()
        if row is None:
            return None
        return Turn(
            message_id=message_id,
            conversation_id=row.conversation_id,
            worker_id=row.worker_id,
            public_id=row.public_id,
            channel=row.channel,
            channel_user_id=row.channel_user_id,
            owner=row.owner,
            language=self._language(row.language_choice, row.language_detected, row.language_hint),
            language_unset=row.language_choice is None
            and row.language_detected is None
            and row.language_hint is None,
            kind=MessageKind(row.kind),
            text=row.text,
            payload=row.payload,
            platform_message_id=row.platform_message_id,
            engine_key=row.engine_key,
            status=row.status,
            sent_lately=row.sent_lately,
            taken_up=utcnow() - row.created_at > TAKEN_UP_AFTER,
        )

    def _engine_text(self, turn: Turn) -> str:
        if turn.kind is MessageKind.START:
            return START_PAYLOAD
        if turn.kind is MessageKind.LOCATION:
            # Where it is stays with the app (on the conversation).
            return SHARE_LOCATION_PAYLOAD
        if turn.kind is MessageKind.BUTTON and turn.payload:
            return turn.payload
        # The engine reads "/intent{...}" as a command: typed words must not
        # pass for a button ("/restart", or entities a worker made up).
        return turn.text.lstrip("/ ")[: self._settings.hotline_engine_text_chars]

    async def _ask_engine(self, turn: Turn) -> EngineAnswer:
        fallback = [Reply(text=self._texts.get(turn.language, "engine_unavailable"))]
        if turn.status == MessageStatus.ENGINE_UNAVAILABLE:
            # Asked again once the engine is back: the worker already has the
            # numbers, so a second failure sends nothing new.
            fallback = []
        try:
            answers = await self._engine_answer(turn)
        except EngineUnavailable as error:
            logger.warning(
                "engine unavailable for conversation %s: %s", turn.conversation_id, error
            )
            return fallback, MessageStatus.ENGINE_UNAVAILABLE
        replies = [
            Reply(
                text=answer.text,
                buttons=[Button(title=b["title"], payload=b["payload"]) for b in answer.buttons],
            )
            for answer in answers
            if answer.text or answer.buttons
        ]
        if not replies:
            # Every intent has an answer, so silence means a failed action or
            # response inside the engine: the worker must not be left alone.
            logger.error("engine gave no reply for conversation %s", turn.conversation_id)
            if turn.status == MessageStatus.ENGINE_UNAVAILABLE:
                # Silent again when asked again: the worker has the numbers;
                # asking at every sweep would never end.
                return [], MessageStatus.ANSWERED
            return fallback, MessageStatus.ENGINE_UNAVAILABLE
        return replies, MessageStatus.ANSWERED

    async def _engine_answer(self, turn: Turn) -> list[EngineReply]:
        # A message asked before (the asking timed out) or taken up late (the
        # process that asked may have died) may be in the engine's hands
        # still: a turn once begun is finished (flows/channels.py).
        heard_before = turn.taken_up or turn.status == MessageStatus.ENGINE_UNAVAILABLE
        if heard_before and (found := await self._settled_memory(turn)) is not None:
            return found
        try:
            return await self._send_to_engine(turn)
        except EngineUnavailable as error:
            if not error.dropped:
                raise
        # The engine died during the turn, or the proxy before it gave up.
        # Another takes it, once, unless the turn was answered after all.
        if (found := await self._settled_memory(turn)) is not None:
            return found
        return await self._send_to_engine(turn)

    async def _settled_memory(self, turn: Turn) -> list[EngineReply] | None:
        """The engine's answer to the turn once every turn of the
        conversation it began is done; None if it never heard the message."""
        await self._engine.settle(sender_id=turn.public_id)
        return await self._remembered(turn)

    async def _send_to_engine(self, turn: Turn) -> list[EngineReply]:
        return await self._engine.send(
            sender_id=turn.public_id,
            text=self._engine_text(turn),
            metadata={
                "channel": turn.channel,
                "language": turn.language,
                engine_memory.MESSAGE_ID: turn.message_id,
                **({engine_memory.MESSAGE_KEY: turn.engine_key} if turn.engine_key else {}),
            },
        )

    async def _remembered(self, turn: Turn) -> list[EngineReply] | None:
        async with self._reading() as session:
            found = await engine_memory.remembered_answer(
                session=session,
                public_id=turn.public_id,
                message_id=turn.message_id,
                message_key=turn.engine_key,
            )
        if found is not None:
            logger.info("message %s: the engine's answer taken from its memory", turn.message_id)
        return found

    async def _store_replies(
        self, turn: Turn, replies: list[Reply], *, delivered: bool, alarm: Assessment
    ) -> None:
        """Store urgent replies and the alarm that made them, together."""
        async with self._sessions.begin() as session:
            choice, detected, *_, hint = (
                await session.execute(_STANDING_OF_TURN, {"message_id": turn.message_id})
            ).one()
            alarms.record(
                session=session,
                conversation_id=turn.conversation_id,
                message_id=turn.message_id,
                assessment=alarm,
            )
            await self._add_replies(
                session,
                turn.conversation_id,
                self._language(choice, detected, hint),
                replies,
                delivered=delivered,
            )

    async def _finish(
        self,
        turn: Turn,
        replies: list[Reply],
        status: MessageStatus,
        *,
        delivered: bool,
    ) -> list[Reply]:
        """Store the turn's outcome and its replies in one transaction.

        A worker waiting for staff (queued before, or by this very turn) is
        also told their place, when it is time to; a worker the turn moved
        to Zawgyi for the first time is offered Unicode. Returns the replies
        stored.
        """
        async with self._sessions.begin() as session:
            # Everything read before the first write (see `accept`), in one
            # query: the worker (the turn may have changed their language),
            # who owns the conversation now, and whether the turn is still
            # unanswered.
            (
                choice,
                detected,
                owner,
                status_now,
                encoding_choice,
                encoding_detected,
                offered_at,
                hint,
            ) = (await session.execute(_STANDING_OF_TURN, {"message_id": turn.message_id})).one()
            if status_now not in UNANSWERED:
                # Answered already (the sweep took it up meanwhile): the
                # worker has those replies, and must not get them twice.
                logger.warning("message %s was answered already", turn.message_id)
                return []
            if owner == Owner.QUEUED:
                replies = replies + await self._waiting_news(turn)
            outcome = await session.execute(
                _ANSWERED, {"message_id": turn.message_id, "outcome": status.value}
            )
            if outcome.rowcount == 0:  # type: ignore[attr-defined]
                logger.warning("message %s was answered meanwhile", turn.message_id)
                return []
            if turn.kind is MessageKind.UNFOLLOW:
                await service.mark_unfollowed(session=session, worker_id=turn.worker_id)
            # The turn may have changed the language (the worker chose one).
            language = self._language(choice, detected, hint)
            if (
                turn.kind is not MessageKind.UNFOLLOW
                and needs_offer(
                    choice=encoding_choice, detected=encoding_detected, offered_at=offered_at
                )
                and await service.mark_offered_unicode(session=session, worker_id=turn.worker_id)
            ):
                # First answered in Zawgyi: once, the way back to Unicode.
                replies = [*replies, self._encoding_replies.offer(language)]
            await self._add_replies(
                session, turn.conversation_id, language, replies, delivered=delivered
            )
        return replies

    def _language(self, choice: str | None, detected: str | None, hint: str | None) -> str:
        """The language to answer in, from a worker's stored choice, detection
        and platform's language."""
        return effective_language(
            choice=choice,
            detected=detected,
            hint=hint,
            default=self._settings.hotline_default_language,
        )

    @staticmethod
    async def _add_replies(
        session: AsyncSession,
        conversation_id: int,
        language: str,
        replies: list[Reply],
        *,
        delivered: bool,
    ) -> None:
        await service.add_replies(
            session=session,
            conversation_id=conversation_id,
            replies=[
                service.OutboundText(
                    text=reply.text,
                    tag=reply.tag,
                    buttons=[button.as_dict() for button in reply.buttons],
                )
                for reply in replies
            ],
            language=language,
            delivered=delivered,
        )


def _collect(future: asyncio.Future[EngineAnswer]) -> None:
    """Take the outcome of an answer no one waits for, so none goes unheard."""
    if not future.cancelled() and future.exception() is not None:
        logger.warning("an engine answer not needed failed: %r", future.exception())
