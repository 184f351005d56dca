"""The supervisors' figures, counted from a real database (SQLite, and
PostgreSQL when HOTLINE_TEST_POSTGRES_URL is set): days in Bangkok, intents
of the public taxonomy, what the engine did not understand, handoff times."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.conversations.models import Conversation, Message, Worker
from bot.handoff.models import HandoffRecord
from bot.staff.models import AuditEntry, Role
from bot.stats import queries
from bot.stats.queries import Grain, StatsFilter, percentile
from bot.stats.service import as_csv
from bot.understanding.models import MessageUnderstanding
from core.settings import PROJECT_ROOT
from tests.flows.test_intents_contract import taxonomy_intents
from tests.support.console import add_staff, state_of

# 1 December 2026, 10:00 in Bangkok.
MORNING = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


class Viewer:
    def __init__(self, staff_id: int) -> None:
        self.id = staff_id
        self.role = "supervisor"


def _seed(client: TestClient) -> None:
    """Three workers' messages over two days, what the engine made of them,
    and three handoffs."""

    async def add() -> None:
        async with state_of(client).sessions.begin() as session:

            async def conversation(user: str, channel: str, language: str) -> Conversation:
                worker = Worker(channel=channel, channel_user_id=user, language_choice=language)
                session.add(worker)
                await session.flush()
                found = Conversation(worker_id=worker.id, channel=channel)
                session.add(found)
                await session.flush()
                return found

            def message(
                talk: Conversation,
                at: datetime,
                language: str,
                intent: str | None = None,
                confidence: float = 0.9,
                read: bool = True,
                direction: str = "inbound",
            ) -> None:
                key = uuid.uuid4().hex
                session.add(
                    Message(
                        conversation_id=talk.id,
                        direction=direction,
                        status="answered",
                        text="words the figures never read",
                        language=language,
                        created_at=at,
                        engine_key=key,
                    )
                )
                if read:
                    session.add(
                        MessageUnderstanding(
                            conversation_id=talk.id,
                            message_key=key,
                            intent=intent,
                            confidence=confidence,
                            entities=[{"entity": "province", "value": "Ranong"}],
                        )
                    )

            burmese = await conversation("U-my", "line", "my")
            khmer = await conversation("T-km", "telegram", "km")
            thai = await conversation("W-th", "webchat", "th")
            # Day one (Bangkok): four messages from two workers.
            message(burmese, MORNING, "my", "ask_wage_info", 0.95)
            message(burmese, MORNING + timedelta(hours=1), "my", "nlu_fallback", 0.4)
            message(khmer, MORNING + timedelta(hours=2), "km", "ask_wage_info", 0.45)
            message(khmer, MORNING + timedelta(hours=3), "km", read=False)  # a photo, say
            # A reply is not a worker's message.
            message(khmer, MORNING + timedelta(hours=3), "km", "greet", direction="outbound")
            # 18:30 UTC on 1 December is 01:30 on 2 December in Bangkok.
            message(thai, datetime(2026, 12, 1, 18, 30, tzinfo=UTC), "th", "out_of_scope", 0.99)
            message(thai, MORNING + timedelta(days=1), "th", "share_location", 1.0)
            # Outside the period.
            message(thai, MORNING + timedelta(days=5), "th", "greet")

            for talk, wait, handling in (
                (burmese, 60, 600),
                (khmer, 300, None),
                (thai, None, None),
            ):
                session.add(
                    HandoffRecord(
                        conversation_id=talk.id,
                        reason="asked_for_person",
                        escalated_at=MORNING,
                        first_claimed_at=None
                        if wait is None
                        else MORNING + timedelta(seconds=wait),
                        closed_at=None
                        if handling is None or wait is None
                        else MORNING + timedelta(seconds=wait + handling),
                    )
                )

    client.portal.call(add)


PERIOD = StatsFilter(start=date(2026, 12, 1), end=date(2026, 12, 2))


def test_the_period_is_counted_per_bangkok_day_with_intents_and_handoff_times(
    client: TestClient,
) -> None:
    _seed(client)
    staff_id = add_staff(client, "sup", Role.SUPERVISOR)
    statistics = state_of(client).statistics

    found = client.portal.call(lambda: statistics.figures(viewer=Viewer(staff_id), wanted=PERIOD))

    assert [(b.start, b.messages, b.workers) for b in found.series] == [
        (date(2026, 12, 1), 4, 2),
        (date(2026, 12, 2), 2, 1),
    ]
    assert (found.messages, found.workers) == (6, 3)
    assert found.by_intent["ask_wage_info"] == 2
    assert found.by_intent["nlu_fallback"] == 1
    assert found.by_intent["out_of_scope"] == 1
    assert found.by_intent[queries.OTHER] == 1  # share_location: the hotline's own button
    assert found.by_intent[queries.NOT_SEEN] == 1
    assert found.by_intent["report_violence"] == 0  # every intent of the taxonomy is listed
    assert found.by_language == {"my": 2, "km": 2, "th": 2}
    assert found.by_channel == {"line": 2, "telegram": 2, "webchat": 2}
    # Read by the engine: 5; not understood: the fallback, the out of scope,
    # and the wage question it was only 45% sure of.
    assert (found.read_by_engine, found.not_understood) == (5, 3)
    assert found.not_understood_share == 0.6
    assert (found.handoffs, found.unclaimed) == (3, 1)
    assert (found.wait.count, found.wait.median, found.wait.p90) == (2, 180.0, 276.0)
    assert (found.handling.count, found.handling.median, found.handling.p90) == (1, 600.0, 600.0)

    async def audited() -> list[AuditEntry]:
        async with state_of(client).sessions() as session:
            return list((await session.execute(select(AuditEntry))).scalars())

    [entry] = [e for e in client.portal.call(audited) if e.action == "stats.view"]
    assert entry.staff_id == staff_id
    assert entry.detail == {
        "filter": {"start": "2026-12-01", "end": "2026-12-02", "grain": "day"},
        "messages": 6,
    }


def test_channel_language_and_grain_narrow_and_cut_the_figures(client: TestClient) -> None:
    _seed(client)
    staff_id = add_staff(client, "sup", Role.SUPERVISOR)
    statistics = state_of(client).statistics

    def figures(wanted: StatsFilter) -> queries.Figures:
        return client.portal.call(
            lambda: statistics.figures(viewer=Viewer(staff_id), wanted=wanted)
        )

    khmer = figures(StatsFilter(start=PERIOD.start, end=PERIOD.end, language="km"))
    assert (khmer.messages, khmer.workers, khmer.handoffs) == (2, 1, 1)
    line = figures(StatsFilter(start=PERIOD.start, end=PERIOD.end, channel="line"))
    assert (line.messages, line.by_channel, line.handoffs) == (2, {"line": 2}, 1)
    month = figures(
        StatsFilter(start=date(2026, 11, 20), end=date(2026, 12, 31), grain=Grain.MONTH)
    )
    assert [(b.start, b.messages) for b in month.series] == [
        (date(2026, 11, 1), 0),
        (date(2026, 12, 1), 7),
    ]
    week = figures(StatsFilter(start=PERIOD.start, end=PERIOD.end, grain=Grain.WEEK))
    assert [(b.start, b.messages, b.workers) for b in week.series] == [(date(2026, 11, 30), 6, 3)]


def test_the_csv_holds_the_same_figures_and_no_words(client: TestClient) -> None:
    _seed(client)
    staff_id = add_staff(client, "sup", Role.SUPERVISOR)
    statistics = state_of(client).statistics
    text = client.portal.call(lambda: statistics.csv(viewer=Viewer(staff_id), wanted=PERIOD))
    table = list(csv.DictReader(io.StringIO(text)))
    assert {"figure": "messages", "period": "2026-12-01", "key": "", "value": "4"} in table
    assert {"figure": "intent", "period": "total", "key": "ask_wage_info", "value": "2"} in table
    assert {"figure": "wait_seconds", "period": "total", "key": "p90", "value": "276"} in table
    assert {
        "figure": "engine",
        "period": "total",
        "key": "not_understood_share",
        "value": "0.6000",
    } in table
    assert "words" not in text and "Ranong" not in text
    found = client.portal.call(lambda: statistics.figures(viewer=Viewer(staff_id), wanted=PERIOD))
    assert as_csv(found) == text


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.1


def test_the_statistics_name_the_intents_of_the_public_taxonomy() -> None:
    taxonomy = taxonomy_intents(PROJECT_ROOT / "docs" / "intents.md")
    assert set(queries.TAXONOMY) == taxonomy - {
        "language",
        "province",
        "case_reference",
        "phone_number",
    }
