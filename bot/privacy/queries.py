"""Reading and staging what retention and deletion requests remove.

The functions take the caller's session (`session=`), never commit and
write no audit entry: `DataKeeping` (`service.py`) owns each unit of work.
They delete rows and report in `Removed` what is left to clear once the
rows are committed away (files, the engine's copy of the conversation), so
a failed run never leaves rows that point to files already gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases import contact
from bot.cases.models import Case, CaseStatus, Note
from bot.conversations.models import (
    Attachment,
    ChannelEvent,
    Conversation,
    EngineTracker,
    Message,
    Owner,
    Worker,
)
from bot.danger.alarms import DangerAlarm
from bot.privacy.models import DeletionRequest, DeletionStatus
from bot.staff.models import LoginAttempt, StaffSession
from bot.understanding.models import MessageUnderstanding
from core.clock import utcnow


class DeletionAlreadyDecided(ValueError):
    """Staff already confirmed or declined this request."""


@dataclass
class Removed:
    """What a deletion or a retention run took away, in counts and leftovers."""

    workers: int = 0
    conversations: int = 0
    messages: int = 0
    attachments: int = 0
    cases: int = 0
    # Files to clear once the rows are committed away.
    storage_keys: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {
            "workers": self.workers,
            "conversations": self.conversations,
            "messages": self.messages,
            "attachments": self.attachments,
            "cases": self.cases,
        }


async def request_deletion(*, session: AsyncSession, worker: Worker) -> DeletionRequest:
    """Record the worker's wish; staff confirm it. One open request per worker."""
    query = select(DeletionRequest).where(
        DeletionRequest.worker_id == worker.id,
        DeletionRequest.status == DeletionStatus.REQUESTED.value,
    )
    pending = (await session.execute(query)).scalar_one_or_none()
    if pending is not None:
        return pending
    request = DeletionRequest(worker_id=worker.id, channel=worker.channel)
    session.add(request)
    await session.flush()
    return request


async def pending_deletions(*, session: AsyncSession) -> list[DeletionRequest]:
    query = (
        select(DeletionRequest)
        .where(DeletionRequest.status == DeletionStatus.REQUESTED.value)
        .order_by(DeletionRequest.requested_at)
    )
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class Held:
    """How much the hotline holds of a worker who asked to be forgotten."""

    messages: int = 0
    open_cases: int = 0


async def held_for(*, session: AsyncSession, request: DeletionRequest) -> Held:
    """What staff weigh before deciding: the worker's messages and their open cases."""
    if request.worker_id is None:
        return Held()
    messages = (
        await session.execute(
            select(func.count(Message.id))
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.worker_id == request.worker_id)
        )
    ).scalar_one()
    open_cases = (
        await session.execute(
            select(func.count(Case.id)).where(
                Case.worker_id == request.worker_id, Case.status != CaseStatus.CLOSED.value
            )
        )
    ).scalar_one()
    return Held(messages=messages, open_cases=open_cases)


async def _remove_conversations(
    *, session: AsyncSession, conversation_ids: Iterable[int], removed: Removed
) -> None:
    ids = list(conversation_ids)
    if not ids:
        return
    attachments = (
        await session.execute(
            select(Attachment.id, Attachment.storage_key)
            .join(Message, Message.id == Attachment.message_id)
            .where(Message.conversation_id.in_(ids))
        )
    ).all()
    removed.attachments += len(attachments)
    removed.storage_keys.update(key for _, key in attachments)
    removed.messages += (
        await session.execute(
            select(func.count(Message.id)).where(Message.conversation_id.in_(ids))
        )
    ).scalar_one()
    # What the engine remembers of them (its trackers) goes in the same
    # transaction, whether the engine runs or not.
    await session.execute(
        delete(EngineTracker).where(
            EngineTracker.sender_id.in_(
                select(Conversation.public_id).where(Conversation.id.in_(ids))
            )
        )
    )
    # Explicit deletes rather than relying on ON DELETE CASCADE alone, which
    # SQLite honours only with its foreign-key switch on.
    await session.execute(
        delete(Attachment).where(
            Attachment.message_id.in_(select(Message.id).where(Message.conversation_id.in_(ids)))
        )
    )
    await session.execute(delete(DangerAlarm).where(DangerAlarm.conversation_id.in_(ids)))
    # What the engine understood of them (the entities are the worker's words).
    await session.execute(
        delete(MessageUnderstanding).where(MessageUnderstanding.conversation_id.in_(ids))
    )
    await session.execute(delete(Message).where(Message.conversation_id.in_(ids)))
    # Staff notes in the chat may hold what the worker told them (a number to call).
    await session.execute(delete(Note).where(Note.conversation_id.in_(ids)))
    await session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
    removed.conversations += len(ids)


async def erase_worker(*, session: AsyncSession, worker_id: int, removed: Removed) -> None:
    """Everything the hotline holds about one worker: their messages, files,
    contact details and the worker record itself.

    Their reports stay as anonymous cases (the abuse they describe may still
    have to be acted on for others), without contact details or a link back
    to the worker. Their phone number is taken out wherever else it was
    written down: in the answers, and in staff notes on their cases (notes
    in their conversations go with the conversations).
    """
    conversation_ids = (
        await session.execute(select(Conversation.id).where(Conversation.worker_id == worker_id))
    ).scalars()
    cases = list((await session.execute(select(Case).where(Case.worker_id == worker_id))).scalars())
    phones = [contact.phone_of(case.contact) for case in cases]
    # The last chance to catch a copy: a contact answer still among the answers,
    # where reports kept it before migration 0007, goes as well.
    phones += [
        contact.phone_of(contact.from_answer((case.answers or {}).get("contact"))) for case in cases
    ]
    for case in cases:
        case.answers = {
            key: contact.redact(value, phones) if isinstance(value, str) else value
            for key, value in (case.answers or {}).items()
            if key != "contact"
        }
        case.contact = None
        case.worker_id = None
        case.conversation_id = None
    if cases:
        notes = await session.execute(
            select(Note).where(Note.case_id.in_([case.id for case in cases]))
        )
        for note in notes.scalars():
            redacted = contact.redact(note.text, phones)
            if redacted != note.text:
                note.text = redacted
    await _remove_conversations(session=session, conversation_ids=conversation_ids, removed=removed)
    await session.execute(delete(Worker).where(Worker.id == worker_id))
    removed.workers += 1


async def decide_deletion(
    *, session: AsyncSession, request_id: int, staff_id: int, confirm: bool
) -> tuple[DeletionRequest, Removed]:
    request = await session.get(DeletionRequest, request_id)
    if request is None:
        raise LookupError(request_id)
    if request.status != DeletionStatus.REQUESTED:
        raise DeletionAlreadyDecided(request_id)
    removed = Removed()
    if confirm and request.worker_id is not None:
        await erase_worker(session=session, worker_id=request.worker_id, removed=removed)
    request.worker_id = None if confirm else request.worker_id
    request.status = (DeletionStatus.DONE if confirm else DeletionStatus.DECLINED).value
    request.decided_by = staff_id
    request.decided_at = utcnow()
    return request, removed


def _last_activity() -> Select[int, datetime]:
    return select(
        Conversation.id,
        func.coalesce(func.max(Message.created_at), Conversation.created_at),
    ).outerjoin(Message, Message.conversation_id == Conversation.id)


async def apply_retention(
    *,
    session: AsyncSession,
    now: datetime,
    conversation_days: int,
    closed_case_days: int,
    housekeeping_days: int,
) -> Removed:
    """Delete what has been kept long enough.

    - conversations with the bot that no case refers to, untouched for
      `conversation_days`;
    - closed cases after `closed_case_days` from closing, with their
      conversations;
    - workers left with nothing, unless they have an open deletion request
      (staff still have to answer it);
    - records kept only to run the hotline (redelivery ids, login attempts).
    Conversations waiting for or with staff are never removed under them.
    """
    removed = Removed()
    case_cutoff = now - timedelta(days=closed_case_days)
    old_cases = list(
        (
            await session.execute(
                select(Case.id, Case.conversation_id).where(
                    Case.status == CaseStatus.CLOSED.value, Case.closed_at < case_cutoff
                )
            )
        ).all()
    )
    if old_cases:
        await session.execute(
            delete(Case).where(Case.id.in_([case_id for case_id, _ in old_cases]))
        )
        removed.cases += len(old_cases)

    cutoff = now - timedelta(days=conversation_days)
    cited = select(Case.conversation_id).where(Case.conversation_id.is_not(None))
    idle = (
        _last_activity()
        .where(Conversation.owner == Owner.BOT.value, Conversation.id.not_in(cited))
        .group_by(Conversation.id)
    )
    expired = [row[0] for row in (await session.execute(idle)).all() if row[1] < cutoff]
    # A closed case's conversation goes with the case, however recent.
    expired += [
        conversation_id
        for _, conversation_id in old_cases
        if conversation_id is not None and conversation_id not in expired
    ]
    await _remove_conversations(session=session, conversation_ids=expired, removed=removed)

    pending = select(DeletionRequest.worker_id).where(
        DeletionRequest.status == DeletionStatus.REQUESTED.value,
        DeletionRequest.worker_id.is_not(None),
    )
    orphans = (
        await session.execute(
            select(Worker.id).where(
                Worker.id.not_in(select(Conversation.worker_id)),
                Worker.id.not_in(select(Case.worker_id).where(Case.worker_id.is_not(None))),
                Worker.id.not_in(pending),
            )
        )
    ).scalars()
    orphan_ids = list(orphans)
    if orphan_ids:
        await session.execute(delete(Worker).where(Worker.id.in_(orphan_ids)))
        removed.workers += len(orphan_ids)

    housekeeping = now - timedelta(days=housekeeping_days)
    await session.execute(delete(ChannelEvent).where(ChannelEvent.received_at < housekeeping))
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at < housekeeping))
    await session.execute(delete(StaffSession).where(StaffSession.expires_at < housekeeping))
    return removed


async def unreferenced(*, session: AsyncSession, storage_keys: Iterable[str]) -> list[str]:
    """The files no attachment names any more (the same file may be shared)."""
    keys = list(storage_keys)
    if not keys:
        return []
    still = set(
        (
            await session.execute(
                select(Attachment.storage_key).where(Attachment.storage_key.in_(keys))
            )
        ).scalars()
    )
    return [key for key in keys if key not in still]
