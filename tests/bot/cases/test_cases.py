"""Cases as stored, against the real database: references, indicators, who may see a status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cases import queries
from bot.cases.indicators import ForcedLabourIndicators
from bot.cases.models import Case, CaseEvent, CaseStatus
from bot.conversations import service as conversations
from bot.conversations.models import (
    Attachment,
    Conversation,
    Direction,
    MessageKind,
    MessageStatus,
    Worker,
)
from core.clock import utcnow
from core.database import create_engine, create_sessionmaker
from core.settings import PROJECT_ROOT
from tests.support import TEST_VAULT

INDICATORS = ForcedLabourIndicators(
    PROJECT_ROOT / "flows" / "content" / "forced_labour_indicators.yml"
)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url, TEST_VAULT)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _conversation(
    sessions: async_sessionmaker[AsyncSession], user: str, channel: str = "line"
) -> tuple[Worker, Conversation]:
    async with sessions.begin() as session:
        worker = await conversations.get_or_create_worker(
            session=session, channel=channel, channel_user_id=user
        )
        conversation = await conversations.current_conversation(session=session, worker=worker)
    return worker, conversation


def _report(kind: str = "document_confiscation", **answers: str) -> queries.Report:
    return queries.Report(
        kind=kind,
        answers={"when": "last month", "where": "Samut Sakhon", **answers},
        language="my",
        province="Samut Sakhon",
        in_danger=False,
        consent_to_share=True,
    )


async def _file(
    sessions: async_sessionmaker[AsyncSession],
    conversation: Conversation,
    report: queries.Report,
    prefix: str = "LPN",
) -> Case:
    async with sessions.begin() as session:
        return await queries.file_report(
            session=session,
            conversation=conversation,
            report=report,
            indicators=INDICATORS,
            prefix=prefix,
        )


async def test_a_report_becomes_a_case_with_a_reference_and_its_answers(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    worker, conversation = await _conversation(sessions, "U-case-1")
    case = await _file(sessions, conversation, _report(employer="Golden Sea Co."), prefix="HRD")
    year = utcnow().year
    assert case.reference == f"HRD-{year}-{case.id:05d}"
    async with sessions() as session:
        stored = await session.get(Case, case.id)
        assert stored is not None
        assert stored.answers["employer"] == "Golden Sea Co."
        assert stored.indicators == ["retention_of_identity_documents"]
        assert (stored.language, stored.channel, stored.province) == ("my", "line", "Samut Sakhon")
        assert stored.consent_to_share and not stored.in_danger
        assert stored.worker_id == worker.id and stored.status == CaseStatus.NEW
        events = (
            await session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))
        ).scalars()
        assert [event.kind for event in events] == ["reported"]
    # The answers are stored encrypted: the raw column holds no word of them.
    from sqlalchemy import create_engine as create_sync_engine
    from sqlalchemy import text

    from core.database import sync_url

    raw = create_sync_engine(sync_url(database_url))
    with raw.connect() as connection:
        column = connection.execute(text("SELECT answers FROM cases")).scalar_one()
    raw.dispose()
    assert "Golden Sea" not in column and "last month" not in column


async def test_two_reports_at_the_same_moment_get_different_numbers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, first = await _conversation(sessions, "U-case-a")
    _, second = await _conversation(sessions, "U-case-b", channel="telegram")
    cases = await asyncio.gather(
        *[_file(sessions, conversation, _report()) for conversation in (first, second) * 4]
    )
    references = [case.reference for case in cases]
    assert len(set(references)) == len(references) == 8
    assert all(reference and reference.startswith("LPN-") for reference in references)


@pytest.mark.parametrize(
    ("kind", "answers", "expected"),
    [
        ("document_confiscation", {}, ["retention_of_identity_documents"]),
        ("unpaid_wages", {}, ["withholding_of_wages"]),
        ("violence", {}, ["physical_and_sexual_violence", "intimidation_and_threats"]),
        ("forced_labour", {}, ["restriction_of_movement"]),
        # The worker's own words point further: a debt to the broker, the passport.
        (
            "unpaid_wages",
            {"employer": "broker says I owe him 30000"},
            ["withholding_of_wages", "debt_bondage"],
        ),
        (
            "forced_labour",
            {"what": "ပတ်စ်ပို့ ယူထား"},
            ["restriction_of_movement", "retention_of_identity_documents"],
        ),
        ("other", {}, []),
    ],
)
def test_indicators_follow_the_content_file(
    kind: str, answers: dict[str, str], expected: list[str]
) -> None:
    found = INDICATORS.point_to(kind=kind, answers=answers.values())
    assert sorted(found) == sorted(expected)
    # Named exactly as the content brief names them (section 6).
    for key in found:
        assert INDICATORS.names[key].replace(" ", "_") == key
    assert len(INDICATORS.names) == 11


async def test_only_the_reporting_worker_learns_the_status(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    reporter, conversation = await _conversation(sessions, "U-owner")
    other, _ = await _conversation(sessions, "U-stranger")
    # The same person on another channel is another identity.
    elsewhere, _ = await _conversation(sessions, "U-owner", channel="telegram")
    case = await _file(sessions, conversation, _report())
    assert case.reference is not None
    async with sessions() as session:
        mine = await queries.status_for_worker(
            session=session, worker=reporter, reference=case.reference.lower()
        )
        assert mine is CaseStatus.NEW
        for worker in (other, elsewhere):
            assert (
                await queries.status_for_worker(
                    session=session, worker=worker, reference=case.reference
                )
                is None
            )
        assert (
            await queries.status_for_worker(
                session=session, worker=reporter, reference="LPN-2020-99999"
            )
            is None
        )
        assert (
            await queries.status_for_worker(session=session, worker=reporter, reference="hello")
            is None
        )


async def test_attachments_sent_since_the_report_began_are_found(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, conversation = await _conversation(sessions, "U-photos")
    began = utcnow()
    async with sessions.begin() as session:
        conversation = await session.get(Conversation, conversation.id) or conversation
        earlier = conversations.add_message(
            session=session,
            conversation_id=conversation.id,
            direction=Direction.INBOUND,
            status=MessageStatus.ANSWERED,
            kind=MessageKind.IMAGE,
            text="",
            language="my",
        )
        earlier.created_at = began - timedelta(minutes=5)
        later = conversations.add_message(
            session=session,
            conversation_id=conversation.id,
            direction=Direction.INBOUND,
            status=MessageStatus.ANSWERED,
            kind=MessageKind.AUDIO,
            text="",
            language="my",
        )
        await session.flush()
        for message in (earlier, later):
            session.add(
                Attachment(
                    message_id=message.id,
                    content_type="image/jpeg",
                    size=3,
                    sha256="0" * 64,
                    storage_key=f"key-{message.id}",
                )
            )
    async with sessions() as session:
        found = await queries.attachments_since(
            session=session, conversation_id=conversation.id, since=began
        )
        kept = (await session.execute(select(Attachment))).scalars().all()
    assert found == [a.id for a in kept if a.message_id == later.id]


def test_references_are_read_as_the_hotline_writes_them() -> None:
    assert queries.normalise_reference(" lpn-2026-042 ") == "LPN-2026-00042"
    assert queries.normalise_reference("LPN-2026-00042") == "LPN-2026-00042"
    assert queries.normalise_reference("2026-00042") is None
