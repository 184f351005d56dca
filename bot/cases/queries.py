"""Cases as stored: a worker's report filed as a case, and cases as staff find and change them.

The functions take the caller's session (`session=`), never commit and
write no audit entry: the engine's actions file reports in their own unit
of work (`flows/actions/context.py`), and `CaseWork` (`service.py`) owns
each unit of work of staff, with its audit entry. The reference is derived
from the row's own id, which the database hands out once, so two reports
filed at the same moment can never share a number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import access
from bot.access import Viewer
from bot.cases.indicators import ForcedLabourIndicators
from bot.cases.models import Case, CaseEvent, CaseStatus, Note
from bot.conversations import timeline
from bot.conversations.models import (
    Attachment,
    Conversation,
    Direction,
    Message,
    Worker,
)
from bot.conversations.timeline import FileRef
from bot.staff.models import Staff
from core.clock import utcnow
from core.errors import InvalidInput, NotFound

REPORTED = "reported"
_REFERENCE = re.compile(r"^\s*([A-Za-z]{2,5})-(20\d{2})-(\d{3,6})\s*$")


class UnknownReportKind(ValueError):
    pass


@dataclass(frozen=True)
class Report:
    """What the worker answered in the report form."""

    kind: str
    # Free-text and chosen answers by question (when, where, employer, ...).
    answers: Mapping[str, Any]
    language: str
    province: str | None = None
    in_danger: bool = False
    consent_to_share: bool = False
    # How staff may reach the worker (bot.cases.contact); never in `answers`.
    contact: Mapping[str, str] | None = None
    # Photos and voice notes the worker sent while reporting.
    attachment_ids: Sequence[int] = field(default_factory=tuple)


def format_reference(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:05d}"


def normalise_reference(reference: str) -> str | None:
    """A reference as the hotline writes it, or None if it cannot be one."""
    match = _REFERENCE.match(reference)
    if match is None:
        return None
    prefix, year, number = match.groups()
    return format_reference(prefix.upper(), int(year), int(number))


async def file_report(
    *,
    session: AsyncSession,
    conversation: Conversation,
    report: Report,
    indicators: ForcedLabourIndicators,
    prefix: str,
) -> Case:
    """The worker's report staged as a new case, with its reference and first event."""
    if report.kind not in indicators.kinds:
        raise UnknownReportKind(report.kind)
    free_text = [str(value) for value in report.answers.values() if isinstance(value, str)]
    case = Case(
        worker_id=conversation.worker_id,
        conversation_id=conversation.id,
        kind=report.kind,
        answers={**report.answers, "attachments": list(report.attachment_ids)},
        contact=dict(report.contact) if report.contact else None,
        indicators=indicators.point_to(kind=report.kind, answers=free_text),
        province=report.province,
        language=report.language,
        channel=conversation.channel,
        in_danger=report.in_danger,
        consent_to_share=report.consent_to_share,
        status=CaseStatus.NEW.value,
        created_at=utcnow(),
    )
    session.add(case)
    await session.flush()
    case.reference = format_reference(prefix, case.created_at.year, case.id)
    session.add(
        CaseEvent(
            case_id=case.id,
            kind=REPORTED,
            detail={"channel": case.channel, "language": case.language},
        )
    )
    await session.flush()
    return case


async def status_for_worker(
    *, session: AsyncSession, worker: Worker, reference: str
) -> CaseStatus | None:
    """The case's status, only for the worker who reported it.

    None both for a reference that does not exist and for someone else's
    case: the caller must answer the two alike, so that nobody learns
    whether a case exists.
    """
    normalised = normalise_reference(reference)
    if normalised is None:
        return None
    query = select(Case.status).where(Case.reference == normalised, Case.worker_id == worker.id)
    status = (await session.execute(query)).scalar_one_or_none()
    return None if status is None else CaseStatus(status)


async def attachments_since(
    *, session: AsyncSession, conversation_id: int, since: datetime
) -> list[int]:
    """The worker's photos, voice notes and files in a conversation since a moment."""
    query = (
        select(Attachment.id)
        .join(Message, Message.id == Attachment.message_id)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.INBOUND.value,
            Message.created_at >= since,
        )
        .order_by(Attachment.id)
    )
    return list((await session.execute(query)).scalars())


# The staff side: finding, reading and changing cases as staff work on them.
# Who reaches which case is decided in `bot/access.py`.

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


async def find_cases(
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
    return list(result.scalars())


async def provinces_in_use(*, session: AsyncSession) -> list[str]:
    """Provinces that cases name, for the filter's choices."""
    result = await session.execute(
        select(Case.province).where(Case.province.is_not(None)).distinct().order_by(Case.province)
    )
    return [province for province in result.scalars() if province]


async def case_for(*, session: AsyncSession, viewer: Viewer, case_id: int, action: str) -> Case:
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


async def case_file(*, session: AsyncSession, case: Case) -> CaseFile:
    """The case with its timeline: messages (decrypted), notes and events."""
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


async def assign(
    *, session: AsyncSession, viewer: Viewer, case: Case, staff_id: int | None
) -> int | None:
    """Give the case to a staff member (or to nobody), with its event; who had it before."""
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
    return previous


def move(*, session: AsyncSession, viewer: Viewer, case: Case, status: CaseStatus) -> CaseStatus:
    """Move the case along, if it may go there, with its event; the status it had."""
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
    return current


def note_text(text: str) -> str:
    """A note as it is kept, if it is one."""
    text = text.strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        raise InvalidInput("a note is 1 to %(count)s characters", count=MAX_NOTE_CHARS)
    return text


async def add_note(*, session: AsyncSession, viewer: Viewer, case: Case, text: str) -> Note:
    """An internal note on the case (the worker never sees it), staged with its id."""
    note = Note(case_id=case.id, staff_id=viewer.id, text=text, created_at=utcnow())
    session.add(note)
    await session.flush()
    return note


async def attachment_with_conversation(
    *, session: AsyncSession, attachment_id: int
) -> tuple[Attachment, Conversation]:
    """A worker's file and the conversation it came in."""
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
    return attachment, conversation


async def assignable_staff(*, session: AsyncSession) -> Sequence[Staff]:
    result = await session.execute(
        select(Staff).where(Staff.active.is_(True)).order_by(Staff.display_name)
    )
    return list(result.scalars())
