"""One read model of a conversation's messages: each with its files and the
name of the staff member who wrote it. The console's chat view, its queue
summaries, a case's timeline and the referral export all read it here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversations.models import Attachment, Message, MessageStatus
from bot.staff.models import Staff


@dataclass(frozen=True)
class FileRef:
    id: int
    content_type: str
    size: int
    sha256: str
    # Where the encrypted file is kept; for the hotline's own use, never shown.
    storage_key: str


@dataclass(frozen=True)
class TimelineMessage:
    id: int
    direction: str
    kind: str
    # As the hotline read it (normalised).
    text: str
    # What the worker actually sent, when it differs.
    original_text: str | None
    status: str
    created_at: datetime
    staff_name: str | None
    # Why the channel refused it, for a failed reply only.
    last_error: str | None
    attachments: list[FileRef] = field(default_factory=list)

    @property
    def as_sent(self) -> str:
        """The words as sent, for evidence; the normalised text when nothing else was kept."""
        return self.original_text or self.text or ""


async def staff_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {staff_id for staff_id in ids if staff_id}
    if not wanted:
        return {}
    rows = await session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(wanted)))
    return dict(rows.tuples().all())


async def read(session: AsyncSession, rows: list[Message]) -> list[TimelineMessage]:
    """The stored messages as the read model, in the order given."""
    files: dict[int, list[FileRef]] = {}
    if rows:
        found = await session.execute(
            select(Attachment)
            .where(Attachment.message_id.in_([m.id for m in rows]))
            .order_by(Attachment.id)
        )
        for stored in found.scalars():
            files.setdefault(stored.message_id, []).append(
                FileRef(
                    id=stored.id,
                    content_type=stored.content_type,
                    size=stored.size,
                    sha256=stored.sha256,
                    storage_key=stored.storage_key,
                )
            )
    names = await staff_names(session, (m.staff_id for m in rows))
    return [
        TimelineMessage(
            id=m.id,
            direction=m.direction,
            kind=m.kind,
            text=m.text,
            original_text=m.original_text,
            status=m.status,
            created_at=m.created_at,
            staff_name=names.get(m.staff_id) if m.staff_id else None,
            last_error=m.last_error if m.status == MessageStatus.FAILED else None,
            attachments=files.get(m.id, []),
        )
        for m in rows
    ]


async def messages(
    session: AsyncSession, conversation_id: int, *, latest: int | None = None
) -> list[TimelineMessage]:
    """The conversation's messages, oldest first; only the `latest` ones if given."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if latest is None:
        rows = list((await session.execute(query.order_by(Message.id))).scalars())
    else:
        newest = await session.execute(query.order_by(Message.id.desc()).limit(latest))
        rows = list(newest.scalars())[::-1]
    return await read(session, rows)


async def message(session: AsyncSession, message_id: int) -> TimelineMessage | None:
    stored = await session.get(Message, message_id)
    if stored is None:
        return None
    return (await read(session, [stored]))[0]
