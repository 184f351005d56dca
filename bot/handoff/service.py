"""Handing a worker's conversation to staff and back.

`Handoff` owns the units of work: each method opens its transaction, reads
through `queries.py`, records the audit entry in the same transaction and
commits, then tells the open consoles. Ownership moves bot -> queued ->
staff -> bot; while it is not the bot's, the engine is not asked anything
about the conversation. Every look at or change of a conversation by staff
goes into the audit log in the same transaction as the change itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import access
from bot.background import stop_tasks
from bot.cases.models import Note
from bot.conversations import service as conversations
from bot.conversations import timeline
from bot.conversations.models import (
    ESCALATION_PRIORITY,
    GROUPED_EMERGENCY_PRIORITY,
    UNVERIFIED_CHANNELS,
    UNVERIFIED_EMERGENCY_PRIORITY,
    Conversation,
    Direction,
    EscalationReason,
    Message,
    MessageKind,
    MessageStatus,
    Owner,
)
from bot.conversations.timeline import TimelineMessage
from bot.danger import Assessment, Level, Signal, alarms
from bot.engine import EngineClient, EngineUnavailable
from bot.handoff import queries
from bot.handoff.canned import CannedTopic, canned_replies, is_canned
from bot.handoff.errors import (
    AlreadyClaimed,
    EmptyMessage,
    NotWithStaff,
    NotYours,
    UnknownCannedReply,
    UnknownConversation,
    UnknownStaff,
)
from bot.handoff.events import HandoffEvents
from bot.handoff.hours import BusinessHours
from bot.handoff.models import HandoffRecord, Outcome
from bot.handoff.queries import ConversationView, QueueItem, StaffMember
from bot.leases import Leases
from bot.outbox import Outbox
from bot.responses import Reply
from bot.staff import audit
from bot.staff.models import AuditEntry, Staff
from bot.texts import Texts
from core.clock import utcnow
from core.settings import Settings

logger = logging.getLogger(__name__)

__all__ = ["Escalation", "Handoff", "UnknownConversation", "queue_up"]

# Outbound messages that tell a waiting worker where they stand carry this
# tag, so the hotline can see when it last told them without reading texts.
WAITING_TAG = "handoff.waiting"
# What each outcome tells the worker when staff close the conversation.
CLOSING_TEXT = {
    Outcome.RESOLVED: "handoff.closed",
    Outcome.CASE_OPENED: "handoff.closed",
    Outcome.NOT_NEEDED: "handoff.closed",
    Outcome.REFERRED: "handoff.closed_referred",
    Outcome.NO_RESPONSE: "handoff.closed_no_response",
}
# What the engine is told when a conversation returns to it. The human
# stretch happened outside the engine, so a question it asked before (a
# report form's next slot) must not swallow the worker's next message as
# its answer: the active form is ended and no slot is awaited. The slots
# already filled are kept, so a report the worker started resumes where it
# stopped if they go back to it.
BACK_TO_BOT_EVENTS = [
    {"event": "active_loop", "name": None},
    {"event": "slot", "name": "requested_slot", "value": None},
]
# Written to the audit log when supervisors are told of a burst of
# unverified emergencies.
BURST_ACTION = "queue.emergency_burst"
# The engine's view of a conversation (its intents) is asked for at most
# this often per conversation, since every console refresh reads the queue.
INTENTS_FRESH_SECONDS = 20.0


@dataclass(frozen=True)
class Escalation:
    conversation_id: int
    reason: EscalationReason
    priority: int
    # False when the conversation already waited or was with staff: the
    # worker is not told twice.
    newly_queued: bool
    # An unverified emergency beyond the cap: waits with the others of its
    # burst, below every other emergency (see `Handoff.escalate`).
    grouped: bool = False


def queue_up(
    conversation: Conversation, reason: EscalationReason, *, priority: int | None = None
) -> bool:
    """Move a conversation into the staff queue; True when it was the bot's until now.

    A conversation already waiting keeps its place and takes the higher
    priority (a worker who asked for a person and then says they are in
    danger moves to the front). One already with staff stays with them.
    `priority`: the reason's own unless given.
    """
    if priority is None:
        priority = ESCALATION_PRIORITY[reason]
    if conversation.owner == Owner.BOT:
        conversation.owner = Owner.QUEUED.value
        conversation.escalation_reason = reason.value
        conversation.priority = priority
        conversation.escalated_at = utcnow()
        conversation.overdue_alerted_at = None
        return True
    if priority > conversation.priority:
        conversation.priority = priority
        conversation.escalation_reason = reason.value
    return False


class Handoff:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        events: HandoffEvents,
        texts: Texts,
        engine: EngineClient,
        outbox: Outbox,
        leases: Leases,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._leases = leases
        self.events = events
        self._texts = texts
        self._engine = engine
        self._settings = settings
        self.hours = BusinessHours.parse(settings.hotline_business_hours, settings.hotline_timezone)
        # Sends staff replies, closings and alerts, never behind an engine turn.
        self._outbox = outbox
        self._intents: dict[str, tuple[float, list[str] | None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        # Emergencies are queued one at a time, so that the web chat's are
        # counted exactly against the cap (in this process).
        self._emergencies = asyncio.Lock()

    # -- the worker's side -------------------------------------------------

    async def escalate(
        self, *, public_id: str, reason: EscalationReason, alarm: Signal | None = None
    ) -> Escalation:
        """Queue the engine's conversation `public_id` for staff.

        `alarm`: danger read outside the app's detector (the engine, the
        report form), recorded with the escalation for supervisors' review.

        An emergency on a channel where anyone can write anonymously (the
        web chat) goes just below those of LINE and Telegram; beyond
        HOTLINE_WEBCHAT_EMERGENCY_CAP of them within the window, it joins
        the burst's group below them, and supervisors are told of the burst
        once, not of each. The worker's emergency numbers never depend on
        this: they are sent before the conversation is queued.
        """
        burst = 0
        tell = False
        one_at_a_time = (
            self._emergencies if reason is EscalationReason.EMERGENCY else contextlib.nullcontext()
        )
        async with one_at_a_time, self._sessions.begin() as session:
            conversation = await conversations.conversation_by_public_id(
                session=session, public_id=public_id
            )
            if conversation is None:
                raise UnknownConversation()
            if alarm is not None:
                alarms.record(
                    session=session,
                    conversation_id=conversation.id,
                    message_id=None,
                    assessment=Assessment(Level.DANGER, alarm),
                )
            priority = ESCALATION_PRIORITY[reason]
            if reason is EscalationReason.EMERGENCY and conversation.channel in UNVERIFIED_CHANNELS:
                recent = await self._recent_unverified_emergencies(session, conversation)
                if recent >= self._settings.hotline_webchat_emergency_cap:
                    priority = GROUPED_EMERGENCY_PRIORITY
                    burst = recent + 1
                else:
                    priority = UNVERIFIED_EMERGENCY_PRIORITY
            newly = queue_up(conversation, reason, priority=priority)
            if newly:
                session.add(
                    HandoffRecord(
                        conversation_id=conversation.id,
                        reason=reason.value,
                        escalated_at=conversation.escalated_at,
                    )
                )
            if burst and newly and not await self._burst_told(session):
                # Supervisors hear of the burst once (once a window while
                # it goes on), not of every worker in it.
                tell = True
                await audit.record(
                    session=session,
                    staff_id=None,
                    action=BURST_ACTION,
                    object_type="queue",
                    object_id=None,
                    detail={"channel": conversation.channel, "emergencies": burst},
                )
            escalation = Escalation(
                conversation_id=conversation.id,
                reason=EscalationReason(conversation.escalation_reason or reason.value),
                priority=conversation.priority,
                newly_queued=newly,
                grouped=conversation.priority == GROUPED_EMERGENCY_PRIORITY,
            )
            channel = conversation.channel
        logger.info(
            "conversation %s escalated (%s, priority %s)",
            escalation.conversation_id,
            escalation.reason.value,
            escalation.priority,
        )
        self.events.publish(
            "queued",
            conversation_id=escalation.conversation_id,
            reason=escalation.reason.value,
            priority=escalation.priority,
            emergency=escalation.reason is EscalationReason.EMERGENCY,
            grouped=escalation.grouped,
        )
        if tell:
            window = self._settings.hotline_webchat_emergency_window_minutes
            logger.warning(
                "%s emergencies on %s within %s minutes: the rest of the burst is grouped",
                burst,
                channel,
                window,
            )
            self.events.publish(
                "burst", channel=channel, emergencies=burst, window_minutes=window, emergency=True
            )
        return escalation

    async def _burst_told(self, session: AsyncSession) -> bool:
        since = utcnow() - timedelta(
            minutes=self._settings.hotline_webchat_emergency_window_minutes
        )
        told = await session.scalar(
            select(AuditEntry.id)
            .where(AuditEntry.action == BURST_ACTION, AuditEntry.at >= since)
            .limit(1)
        )
        return told is not None

    async def _recent_unverified_emergencies(
        self, session: AsyncSession, conversation: Conversation
    ) -> int:
        """Emergencies queued from unverified channels within the window,
        this conversation's own earlier ones aside (a worker who says it
        twice is not a burst)."""
        since = utcnow() - timedelta(
            minutes=self._settings.hotline_webchat_emergency_window_minutes
        )
        count = await session.scalar(
            select(func.count())
            .select_from(HandoffRecord)
            .join(Conversation, Conversation.id == HandoffRecord.conversation_id)
            .where(
                Conversation.channel.in_(UNVERIFIED_CHANNELS),
                Conversation.id != conversation.id,
                HandoffRecord.reason == EscalationReason.EMERGENCY.value,
                HandoffRecord.escalated_at >= since,
            )
        )
        return int(count or 0)

    async def waiting_news(self, *, conversation_id: int, language: str) -> list[Reply]:
        """What a waiting worker should hear now: their place and the wait, or nothing.

        Said once as soon as they are queued, then at most every few minutes
        when they write again, so a worker who keeps writing is not flooded.
        """
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.owner != Owner.QUEUED:
                return []
            told = await queries.last_told_waiting(
                session=session, conversation_id=conversation_id, tag=WAITING_TAG
            )
            every = timedelta(minutes=self._settings.hotline_queue_update_minutes)
            since = max(conversation.escalated_at or utcnow(), utcnow() - every)
            if told is not None and told >= since:
                return []
            reply = await self._where_you_stand(session, conversation, language)
        # The turn that queued the worker is over by now, so the engine's
        # record of it is complete: consoles refresh the worker's summary.
        self.events.publish("waiting", conversation_id=conversation_id)
        return [reply]

    async def _where_you_stand(
        self, session: AsyncSession, conversation: Conversation, language: str
    ) -> Reply:
        if not self.hours.open_at(utcnow()):
            return Reply(text=self._texts.get(language, "handoff.after_hours"), tag=WAITING_TAG)
        place = await queries.position(session=session, conversation=conversation)
        typical = await queries.typical_wait(session=session)
        if typical is None:
            text = self._texts.get(language, "handoff.waiting", position=str(place))
        else:
            # Crude but honest: each worker ahead takes about a typical wait.
            # Rounded up to 5 minutes, since a precise figure would promise too much.
            minutes = max(5, 5 * math.ceil(typical.total_seconds() * place / 300))
            text = self._texts.get(
                language, "handoff.waiting_estimate", position=str(place), minutes=str(minutes)
            )
        return Reply(text=text, tag=WAITING_TAG)

    def worker_wrote(self, *, conversation_id: int, message_id: int, kind: MessageKind) -> None:
        """A message for staff arrived: open consoles fetch it."""
        self.events.publish(
            "message",
            conversation_id=conversation_id,
            message_id=message_id,
            direction=Direction.INBOUND.value,
            message_kind=kind.value,
        )

    # -- the staff's side ----------------------------------------------------

    async def queue_for(self, *, staff: StaffMember) -> list[QueueItem]:
        async with self._sessions.begin() as session:
            rows = await queries.visible_conversations(session=session, staff=staff)
            items = [
                await queries.item_of(
                    session=session,
                    conversation=row,
                    default_language=self._settings.hotline_default_language,
                )
                for row in rows
            ]
            await audit.record(
                session=session,
                staff_id=staff.id,
                action="queue.view",
                object_type="queue",
                object_id=None,
                detail={"conversations": [item.conversation_id for item in items]},
            )
        summaries = await asyncio.gather(*(self._engine_intents(i.public_id) for i in items))
        for item, intents in zip(items, summaries, strict=True):
            item.intents = intents
        return items

    async def conversation_for(
        self, *, staff: StaffMember, conversation_id: int, limit: int = 200
    ) -> ConversationView:
        async with self._sessions.begin() as session:
            conversation = await self._visible(session, staff, conversation_id)
            view = ConversationView(
                item=await queries.item_of(
                    session=session,
                    conversation=conversation,
                    default_language=self._settings.hotline_default_language,
                ),
                messages=await timeline.messages(session, conversation_id, latest=limit),
                notes=await queries.notes_of(session=session, conversation_id=conversation_id),
                location=conversation.location,
            )
            await audit.record(
                session=session,
                staff_id=staff.id,
                action="conversation.view",
                object_type="conversation",
                object_id=str(conversation_id),
            )
        view.item.intents = await self._engine_intents(view.item.public_id)
        return view

    async def message_for(
        self, *, staff: StaffMember, conversation_id: int, message_id: int
    ) -> TimelineMessage:
        """One message, for a console that was told it arrived."""
        async with self._sessions.begin() as session:
            await self._visible(session, staff, conversation_id)
            message = await session.get(Message, message_id)
            if message is None or message.conversation_id != conversation_id:
                raise UnknownConversation()
            view = await timeline.message(session, message_id)
            assert view is not None
            await audit.record(
                session=session,
                staff_id=staff.id,
                action="conversation.view_message",
                object_type="conversation",
                object_id=str(conversation_id),
                detail={"message_id": message_id},
            )
            return view

    async def claim(self, *, staff: StaffMember, conversation_id: int) -> None:
        """Take a waiting conversation; exactly one staff member wins a race.

        One conditional UPDATE decides: whoever's statement changes the row
        has it, and everyone else learns who does.
        """
        async with self._sessions.begin() as session:
            now = utcnow()
            result = await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.owner == Owner.QUEUED.value)
                .values(owner=Owner.STAFF.value, claimed_by=staff.id, claimed_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                conversation = await session.get(Conversation, conversation_id)
                if conversation is None:
                    raise UnknownConversation()
                if conversation.owner == Owner.STAFF and conversation.claimed_by is not None:
                    holder = await session.get(Staff, conversation.claimed_by)
                    raise AlreadyClaimed(holder.display_name if holder else None)
                raise NotWithStaff()
            record = await queries.open_record(session=session, conversation_id=conversation_id)
            if record is not None and record.first_claimed_at is None:
                record.first_claimed_at = now
            await audit.record(
                session=session,
                staff_id=staff.id,
                action="conversation.claim",
                object_type="conversation",
                object_id=str(conversation_id),
            )
        logger.info("conversation %s claimed by staff %s", conversation_id, staff.id)
        self.events.publish("claimed", conversation_id=conversation_id, staff_id=staff.id)

    async def reply(self, *, staff: StaffMember, conversation_id: int, text: str) -> int:
        """Send the staff member's own words to the worker, as written."""
        if not text.strip():
            raise EmptyMessage()
        return await self._send(staff, conversation_id, text=text.strip(), canned=None)

    async def reply_canned(
        self, *, staff: StaffMember, conversation_id: int, canned_id: str
    ) -> int:
        """Send a ready-made reply, in the worker's language."""
        if not is_canned(canned_id) or canned_id not in self._texts.message_ids():
            raise UnknownCannedReply()
        return await self._send(staff, conversation_id, text=None, canned=canned_id)

    async def _send(
        self, staff: StaffMember, conversation_id: int, *, text: str | None, canned: str | None
    ) -> int:
        async with self._sessions.begin() as session:
            conversation = await self._held_by(session, staff, conversation_id)
            worker = await conversations.worker_of(session=session, conversation=conversation)
            language = conversations.language_of(
                worker, default=self._settings.hotline_default_language
            )
            if canned is not None:
                text = self._texts.get(language, canned)
            assert text is not None
            message = conversations.add_message(
                session=session,
                conversation_id=conversation.id,
                direction=Direction.OUTBOUND,
                status=MessageStatus.QUEUED,
                text=text,
                payload=canned,
                language=language,
                retry_key=str(uuid.uuid4()),
            )
            message.staff_id = staff.id
            await session.flush()
            await audit.record(
                session=session,
                staff_id=staff.id,
                action="conversation.reply",
                object_type="conversation",
                object_id=str(conversation_id),
                detail={"message_id": message.id, "canned": canned},
            )
            message_id = message.id
        self.events.publish(
            "message",
            conversation_id=conversation_id,
            message_id=message_id,
            direction=Direction.OUTBOUND.value,
            message_kind=MessageKind.TEXT.value,
        )
        self._hand_over(conversation_id)
        return message_id

    async def note(self, *, staff: StaffMember, conversation_id: int, text: str) -> int:
        """An internal note: kept with the conversation, never sent."""
        if not text.strip():
            raise EmptyMessage()
        async with self._sessions.begin() as session:
            await self._visible(session, staff, conversation_id)
            note = Note(conversation_id=conversation_id, staff_id=staff.id, text=text.strip())
            session.add(note)
            await session.flush()
            await audit.record(
                session=session,
                staff_id=staff.id,
                action="conversation.note",
                object_type="conversation",
                object_id=str(conversation_id),
                detail={"note_id": note.id},
            )
            note_id = note.id
        self.events.publish("note", conversation_id=conversation_id, note_id=note_id)
        return note_id

    async def transfer(
        self, *, staff: StaffMember, conversation_id: int, to_staff_id: int | None
    ) -> None:
        """Hand the conversation to another staff member, or (None) back to the queue.

        Back in the queue the worker keeps their place: the time they first
        waited still counts.
        """
        async with self._sessions.begin() as session:
            conversation = await self._held_by(session, staff, conversation_id)
            if to_staff_id is None:
                conversation.owner = Owner.QUEUED.value
                conversation.claimed_by = None
                conversation.claimed_at = None
            else:
                target = await session.get(Staff, to_staff_id)
                if target is None or not target.active:
                    raise UnknownStaff()
                conversation.claimed_by = target.id
                conversation.claimed_at = utcnow()
            await audit.record(
                session=session,
                staff_id=staff.id,
                action="conversation.transfer",
                object_type="conversation",
                object_id=str(conversation_id),
                detail={"to_staff_id": to_staff_id},
            )
        if to_staff_id is None:
            self.events.publish("queued", conversation_id=conversation_id, returned=True)
        else:
            self.events.publish("claimed", conversation_id=conversation_id, staff_id=to_staff_id)

    async def close(self, *, staff: StaffMember, conversation_id: int, outcome: Outcome) -> None:
        """End the human stretch: the worker is told, the bot answers again."""
        async with self._sessions() as session:
            conversation = await self._held_by(session, staff, conversation_id, waiting_ok=True)
            public_id = conversation.public_id
        await self._tell_engine(public_id)
        async with self._sessions.begin() as session:
            conversation = await self._held_by(session, staff, conversation_id, waiting_ok=True)
            worker = await conversations.worker_of(session=session, conversation=conversation)
            language = conversations.language_of(
                worker, default=self._settings.hotline_default_language
            )
            record = await queries.open_record(session=session, conversation_id=conversation_id)
            if record is not None:
                record.closed_at = utcnow()
                record.closed_by = staff.id
                record.outcome = outcome.value
            conversation.owner = Owner.BOT.value
            conversation.claimed_by = None
            conversation.claimed_at = None
            conversation.escalation_reason = None
            conversation.escalated_at = None
            conversation.priority = 0
            conversation.overdue_alerted_at = None
            message = conversations.add_message(
                session=session,
                conversation_id=conversation.id,
                direction=Direction.OUTBOUND,
                status=MessageStatus.QUEUED,
                text=self._texts.get(language, CLOSING_TEXT[outcome]),
                payload=CLOSING_TEXT[outcome],
                language=language,
                retry_key=str(uuid.uuid4()),
            )
            message.staff_id = staff.id
            await session.flush()
            await audit.record(
                session=session,
                staff_id=staff.id,
                action="conversation.close",
                object_type="conversation",
                object_id=str(conversation_id),
                detail={"outcome": outcome.value},
            )
        logger.info("conversation %s closed (%s)", conversation_id, outcome.value)
        self.events.publish("closed", conversation_id=conversation_id, outcome=outcome.value)
        self._hand_over(conversation_id)

    async def retry(self, *, staff: StaffMember, conversation_id: int, message_id: int) -> None:
        """Send a reply the channel refused again (its retry key kept: no doubles)."""
        async with self._sessions.begin() as session:
            await self._visible(session, staff, conversation_id)
            message = await session.get(Message, message_id)
            if (
                message is None
                or message.conversation_id != conversation_id
                or message.direction != Direction.OUTBOUND
                or message.status != MessageStatus.FAILED
            ):
                raise UnknownConversation()
            message.status = MessageStatus.QUEUED.value
            message.attempts = 0
            message.last_error = None
            await audit.record(
                session=session,
                staff_id=staff.id,
                action="conversation.retry",
                object_type="conversation",
                object_id=str(conversation_id),
                detail={"message_id": message_id},
            )
        self.events.publish("retried", conversation_id=conversation_id, message_id=message_id)
        self._hand_over(conversation_id)

    async def colleagues(self) -> list[tuple[int, str]]:
        """Active staff a conversation can be transferred to: (id, name)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Staff.id, Staff.display_name)
                .where(Staff.active.is_(True))
                .order_by(Staff.display_name)
            )
            return list(rows.tuples().all())

    def canned(self, *, language: str) -> list[CannedTopic]:
        return canned_replies(self._texts, language=language)

    # -- waiting too long ------------------------------------------------------

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="handoff-overdue")

    async def close_background(self) -> None:
        await stop_tasks([self._sweeper])

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._settings.hotline_queue_sweep_seconds)
            try:
                # One process sweeps (the alerts are once per wait anyway);
                # another leads within three rounds if it is gone.
                round_time = timedelta(seconds=self._settings.hotline_queue_sweep_seconds * 3)
                if await self._leases.lead("round:overdue", lease_time=round_time):
                    await self.alert_overdue()
            except Exception:
                logger.exception("queue sweep failed")

    async def alert_overdue(self) -> list[int]:
        """Alert supervisors about workers nobody claimed in time, and tell the workers.

        Once per wait: `overdue_alerted_at` is set by a conditional UPDATE, so
        two app processes sweeping at once alert once.
        """
        limit = utcnow() - timedelta(minutes=self._settings.hotline_queue_alert_minutes)
        async with self._sessions() as session:
            due = list(
                (
                    await session.execute(
                        select(Conversation.id).where(
                            Conversation.owner == Owner.QUEUED.value,
                            Conversation.overdue_alerted_at.is_(None),
                            Conversation.escalated_at <= limit,
                        )
                    )
                ).scalars()
            )
        alerted = []
        for conversation_id in due:
            outcome = await self._alert(conversation_id)
            if outcome is not None:
                alerted.append(conversation_id)
                self.events.publish(
                    "overdue",
                    conversation_id=conversation_id,
                    emergency=outcome[0],
                    # Supervisors were told of its burst already.
                    grouped=outcome[1],
                )
                self._hand_over(conversation_id)
        return alerted

    async def _alert(self, conversation_id: int) -> tuple[bool, bool] | None:
        """(emergency, grouped) when this call alerted, None when another had."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Conversation)
                .where(
                    Conversation.id == conversation_id,
                    Conversation.owner == Owner.QUEUED.value,
                    Conversation.overdue_alerted_at.is_(None),
                )
                .values(overdue_alerted_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            worker = await conversations.worker_of(session=session, conversation=conversation)
            language = conversations.language_of(
                worker, default=self._settings.hotline_default_language
            )
            text_id = "handoff.overdue" if self.hours.open_at(utcnow()) else "handoff.after_hours"
            conversations.add_message(
                session=session,
                conversation_id=conversation.id,
                direction=Direction.OUTBOUND,
                status=MessageStatus.QUEUED,
                text=self._texts.get(language, text_id),
                tag=WAITING_TAG,
                language=language,
                retry_key=str(uuid.uuid4()),
            )
            await session.flush()
            await audit.record(
                session=session,
                staff_id=None,
                action="queue.overdue_alert",
                object_type="conversation",
                object_id=str(conversation_id),
            )
            emergency = conversation.escalation_reason == EscalationReason.EMERGENCY
            grouped = conversation.priority == GROUPED_EMERGENCY_PRIORITY
            logger.warning("conversation %s waited too long for staff", conversation_id)
            return emergency, grouped

    # -- helpers ----------------------------------------------------------------

    async def _visible(
        self, session: AsyncSession, staff: StaffMember, conversation_id: int, tried: str = "open"
    ) -> Conversation:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise UnknownConversation()
        if not access.may_see_conversation(staff, conversation):
            raise access.refused(staff, "conversation", conversation_id, tried)
        return conversation

    async def _held_by(
        self,
        session: AsyncSession,
        staff: StaffMember,
        conversation_id: int,
        *,
        waiting_ok: bool = False,
    ) -> Conversation:
        """The conversation, if this staff member (or a supervisor) may act on it now."""
        conversation = await self._visible(session, staff, conversation_id)
        if conversation.owner == Owner.BOT or (
            conversation.owner == Owner.QUEUED and not waiting_ok
        ):
            raise NotWithStaff()
        if conversation.owner == Owner.QUEUED and not access.sees_everything(staff):
            # Closing straight from the queue (spam, a worker who is fine)
            # is for supervisors.
            raise NotYours()
        if conversation.claimed_by not in (staff.id, None) and not access.sees_everything(staff):
            raise NotYours()
        return conversation

    def _hand_over(self, conversation_id: int) -> None:
        self._outbox.send_soon(conversation_id)

    async def _tell_engine(self, public_id: str) -> None:
        try:
            await self._engine.append_events(sender_id=public_id, events=BACK_TO_BOT_EVENTS)
        except EngineUnavailable as error:
            # The app's ownership, not the engine's state, decides who answers;
            # at worst the engine's next answer continues its old question.
            logger.warning("engine not told that conversation %s is back: %s", public_id, error)
        self._intents.pop(public_id, None)

    async def _engine_intents(self, public_id: str) -> list[str] | None:
        now = asyncio.get_running_loop().time()
        cached = self._intents.get(public_id)
        if cached is not None and now - cached[0] < INTENTS_FRESH_SECONDS:
            return cached[1]
        try:
            intents: list[str] | None = await self._engine.intents(sender_id=public_id)
        except EngineUnavailable:
            intents = None
        if len(self._intents) > 1000:
            self._intents.clear()
        if intents != []:
            # Nothing yet may mean the engine is still in the turn that
            # queued the worker: ask again next time.
            self._intents[public_id] = (now, intents)
        return intents
