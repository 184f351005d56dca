"""Cases: a worker's report of abuse becomes a case with a reference to quote.

Functions take the session as a keyword and do not commit; the caller owns
the unit of work. The reference is derived from the row's own id, which the
database hands out once, so two reports filed at the same moment can never
share a number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.indicators import ForcedLabourIndicators
from bot.cases.models import Case, CaseEvent, CaseStatus
from bot.conversations.models import (
    Attachment,
    Conversation,
    Direction,
    Message,
    Worker,
)
from core.clock import utcnow

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


async def open_case(
    *,
    session: AsyncSession,
    conversation: Conversation,
    report: Report,
    indicators: ForcedLabourIndicators,
    prefix: str,
) -> Case:
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
