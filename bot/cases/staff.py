"""Cases as staff work on them: find, read, assign, move along, note, export.

Who reaches which case is decided in `bot/access.py` (agents: the cases
assigned to them; supervisors and admins: every case, and they assign).
Every view and change writes an audit entry in the same transaction; a
refused view is recorded as well, so an admin can see who tried to read
what. Functions take the caller's database session
(`session=`) and commit what they did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import access
from bot.access import Viewer
from bot.cases.models import Case, CaseEvent, CaseStatus, Note
from bot.conversations import timeline
from bot.conversations.models import Attachment, Conversation, Message
from bot.conversations.timeline import FileRef
from bot.staff import audit
from bot.staff.models import Staff
from core.clock import utcnow
from core.errors import Forbidden, InvalidInput, NotFound

# Where a case may go next. Reopening a closed case is allowed: a worker may
# come back with more.
NEXT_STATUSES: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset({CaseStatus.IN_PROGRESS, CaseStatus.CLOSED}),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.REFERRED, CaseStatus.CLOSED}),
    CaseStatus.REFERRED: frozenset({CaseStatus.IN_PROGRESS, CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset({CaseStatus.IN_PROGRESS}),
}
MAX_NOTE_CHARS = 10_000
LIST_LIMIT = 200


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = None
    kind: str | None = None
    province: str | None = None
    language: str | None = None
    # Reported on or after `since`, on or before `until` (whole days, UTC).
    since: date | None = None
    until: date | None = None

    def as_detail(self) -> dict[str, str]:
        """For the audit entry: the filter, never a worker's words."""
        return {
            name: str(value)
            for name, value in (
                ("status", self.status),
                ("kind", self.kind),
                ("province", self.province),
                ("language", self.language),
                ("since", self.since),
                ("until", self.until),
            )
            if value is not None
        }


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a case's story, in time order."""

    at: datetime
    # "inbound" / "outbound" (messages), "note", "event".
    type: str
    text: str = ""
    message_kind: str | None = None
    staff_name: str | None = None
    event: str | None = None
    detail: dict[str, Any] | None = None
    attachments: list[FileRef] = field(default_factory=list)


@dataclass(frozen=True)
class CaseFile:
    """Everything the case page and the referral export show."""

    case: Case
    assigned_name: str | None
    location: dict[str, Any] | None
    timeline: list[TimelineEntry]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def list_cases(
    *, session: AsyncSession, viewer: Viewer, wanted: CaseFilter, limit: int = LIST_LIMIT
) -> list[Case]:
    """The cases the viewer may see that match, newest first."""
    query: Select[Any] = access.cases_visible_to(viewer, select(Case))
    if wanted.status is not None:
        query = query.where(Case.status == wanted.status.value)
    if wanted.kind:
        query = query.where(Case.kind == wanted.kind)
    if wanted.province:
        query = query.where(Case.province == wanted.province)
    if wanted.language:
        query = query.where(Case.language == wanted.language)
    if wanted.since is not None:
        query = query.where(Case.created_at >= _day_start(wanted.since))
    if wanted.until is not None:
        query = query.where(Case.created_at < _day_start(wanted.until + timedelta(days=1)))
    result = await session.execute(
        query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)
    )
    cases = list(result.scalars())
    await audit.record(
        session=session,
        staff_id=viewer.id,
        action="case.list",
        object_type="case",
        object_id=None,
        detail={"filter": wanted.as_detail(), "count": len(cases)},
    )
    await session.commit()
    return cases


async def provinces_in_use(*, session: AsyncSession) -> list[str]:
    """Provinces that cases name, for the filter's choices."""
    result = await session.execute(
        select(Case.province).where(Case.province.is_not(None)).distinct().order_by(Case.province)
    )
    return [province for province in result.scalars() if province]


async def _case_for(session: AsyncSession, viewer: Viewer, case_id: int, action: str) -> Case:
    """The case if the viewer may reach it (`bot.access` refuses otherwise)."""
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(access.MISSING_CASE)
    if not access.may_see_case(viewer, case):
        raise access.refused(viewer, "case", case_id, action)
    return case


async def _staff_names(session: AsyncSession) -> dict[int, str]:
    result = await session.execute(select(Staff.id, Staff.display_name))
    return dict(result.tuples().all())


async def _case_file(session: AsyncSession, case: Case) -> CaseFile:
    names = await _staff_names(session)
    entries: list[TimelineEntry] = []
    location: dict[str, Any] | None = None
    if case.conversation_id is not None:
        conversation = await session.get(Conversation, case.conversation_id)
        location = conversation.location if conversation is not None else None
        for message in await timeline.messages(session, case.conversation_id):
            entries.append(
                TimelineEntry(
                    at=message.created_at,
                    type=message.direction,
                    # What the worker actually sent, as evidence.
                    text=message.as_sent,
                    message_kind=message.kind,
                    staff_name=message.staff_name,
                    attachments=message.attachments,
                )
            )
    # Notes on the case, and those staff wrote in its conversation's chat.
    belongs = Note.case_id == case.id
    if case.conversation_id is not None:
        belongs = or_(belongs, Note.conversation_id == case.conversation_id)
    notes = await session.execute(select(Note).where(belongs).order_by(Note.id))
    for note in notes.scalars():
        entries.append(
            TimelineEntry(
                at=note.created_at,
                type="note",
                text=note.text,
                staff_name=names.get(note.staff_id) if note.staff_id else None,
            )
        )
    events = await session.execute(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    )
    for event in events.scalars():
        entries.append(
            TimelineEntry(
                at=event.at,
                type="event",
                event=event.kind,
                detail=event.detail,
                staff_name=names.get(event.staff_id) if event.staff_id else None,
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return CaseFile(
        case=case,
        assigned_name=names.get(case.assigned_to) if case.assigned_to else None,
        location=location,
        timeline=entries,
    )


async def open_case(*, session: AsyncSession, viewer: Viewer, case_id: int) -> CaseFile:
    """The case with its timeline, decrypted for the viewer; the view is audited."""
    case = await _case_for(session, viewer, case_id, "view")
    case_file = await _case_file(session, case)
    await audit.record(
        session=session,
        staff_id=viewer.id,
        action="case.view",
        object_type="case",
        object_id=str(case.id),
    )
    await session.commit()
    return case_file


async def export_case(
    *, session: AsyncSession, viewer: Viewer, case_id: int, form: str
) -> CaseFile:
    """The case for a referral (`form`: json or pdf); the export is audited."""
    case = await _case_for(session, viewer, case_id, f"export.{form}")
    case_file = await _case_file(session, case)
    await audit.record(
        session=session,
        staff_id=viewer.id,
        action="case.export",
        object_type="case",
        object_id=str(case.id),
        detail={"format": form},
    )
    await session.commit()
    return case_file


async def assign(
    *, session: AsyncSession, viewer: Viewer, case_id: int, staff_id: int | None
) -> Case:
    """Give the case to a staff member (or to nobody). Supervisors and admins only."""
    if not access.sees_everything(viewer):
        raise Forbidden("only supervisors assign cases")
    case = await _case_for(session, viewer, case_id, "assign")
    if staff_id is not None:
        assignee = await session.get(Staff, staff_id)
        if assignee is None or not assignee.active:
            raise InvalidInput("no active staff member with that id")
    previous = case.assigned_to
    case.assigned_to = staff_id
    session.add(
        CaseEvent(
            case_id=case.id,
            staff_id=viewer.id,
            kind="assigned",
            detail={"from": previous, "to": staff_id},
            at=utcnow(),
        )
    )
    await audit.record(
        session=session,
        staff_id=viewer.id,
        action="case.assign",
        object_type="case",
        object_id=str(case.id),
        detail={"from": previous, "to": staff_id},
    )
    await session.commit()
    return case


async def set_status(
    *, session: AsyncSession, viewer: Viewer, case_id: int, status: CaseStatus
) -> Case:
    case = await _case_for(session, viewer, case_id, "status")
    current = CaseStatus(case.status)
    if status not in NEXT_STATUSES[current]:
        raise InvalidInput(
            "a %(current)s case cannot become %(next)s", current=current.value, next=status.value
        )
    case.status = status.value
    case.closed_at = utcnow() if status == CaseStatus.CLOSED else None
    session.add(
        CaseEvent(
            case_id=case.id,
            staff_id=viewer.id,
            kind="status",
            detail={"from": current.value, "to": status.value},
            at=utcnow(),
        )
    )
    await audit.record(
        session=session,
        staff_id=viewer.id,
        action="case.status",
        object_type="case",
        object_id=str(case.id),
        detail={"from": current.value, "to": status.value},
    )
    await session.commit()
    return case


async def add_note(*, session: AsyncSession, viewer: Viewer, case_id: int, text: str) -> Note:
    """An internal note on the case; the worker never sees it. Stored encrypted."""
    text = text.strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        raise InvalidInput("a note is 1 to %(count)s characters", count=MAX_NOTE_CHARS)
    case = await _case_for(session, viewer, case_id, "note")
    note = Note(case_id=case.id, staff_id=viewer.id, text=text, created_at=utcnow())
    session.add(note)
    await session.flush()
    # The audit entry names the note, never its words.
    await audit.record(
        session=session,
        staff_id=viewer.id,
        action="case.note",
        object_type="case",
        object_id=str(case.id),
        detail={"note_id": note.id},
    )
    await session.commit()
    return note


async def attachment_for(
    *, session: AsyncSession, viewer: Viewer, attachment_id: int
) -> Attachment:
    """A worker's file, if the viewer may see it (`bot.access`); the view is audited."""
    found = await session.execute(
        select(Attachment, Conversation)
        .join(Message, Message.id == Attachment.message_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Attachment.id == attachment_id)
    )
    row = found.one_or_none()
    if row is None:
        raise NotFound(access.MISSING_FILE)
    attachment, conversation = row
    if not await access.may_see_files_of(session, viewer, conversation):
        raise access.refused(viewer, "attachment", attachment.id, "view")
    await audit.record(
        session=session,
        staff_id=viewer.id,
        action="attachment.view",
        object_type="attachment",
        object_id=str(attachment.id),
        detail={"conversation_id": conversation.id},
    )
    await session.commit()
    return attachment


async def assignable_staff(*, session: AsyncSession) -> Sequence[Staff]:
    result = await session.execute(
        select(Staff).where(Staff.active.is_(True)).order_by(Staff.display_name)
    )
    return list(result.scalars())
