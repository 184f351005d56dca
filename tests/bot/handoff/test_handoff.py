"""Staff take a worker's conversation and give it back: the handoff API, real app and database.

LINE is the local stand-in; the engine is down in these tests (nothing listens
at its address), so a reply from the bot would be the "engine unavailable"
numbers, and its absence shows the bot stayed silent.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from bot.channels.base import InboundMessage
from bot.conversations.models import EscalationReason, MessageKind
from bot.handoff.hours import BusinessHours
from bot.handoff.models import HandoffRecord
from bot.staff.models import AuditEntry, Role
from bot.texts import Texts
from core.settings import Settings
from tests.fakes.line_api import FakeLine, sign, text_event, webhook_body
from tests.support import (
    ChatWorker,
    eventually,
    stored_conversation,
    stored_from_inbox,
    stored_messages,
)
from tests.support.console import add_staff, audit_actions, staff_id_of, state_of

BURMESE_HELLO = "မင်္ဂလာပါ ကျွန်တော် အကူအညီလိုပါတယ်"
PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"


@pytest.fixture
def texts(settings: Settings) -> Texts:
    return Texts(settings.hotline_locales_dir)


@pytest.fixture
def always_open(settings: Settings) -> Iterator[TestClient]:
    """The app with staff in at every hour, so waiting workers hear their place."""
    with TestClient(
        create_app(settings.model_copy(update={"hotline_business_hours": "always"}))
    ) as c:
        yield c


def token_for(client: TestClient, username: str, role: Role) -> str:
    add_staff(client, username, role)

    async def issue() -> str:
        return await state_of(client).accounts.create_api_token(username=username, name="tests")

    return client.portal.call(issue)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def line_says(client: TestClient, user: str, text: str) -> None:
    body = webhook_body(text_event(user, text))
    answer = client.post("/webhooks/line", content=body, headers={"x-line-signature": sign(body)})
    assert answer.status_code == 200
    stored_from_inbox(client)


def settle(client: TestClient) -> None:
    client.portal.call(state_of(client).answering.idle)


def escalate(client: TestClient, user: str, reason: EscalationReason) -> int:
    state = state_of(client)
    public_id = stored_conversation(state.settings.hotline_database_url, user)["public_id"]
    escalation = client.portal.call(
        lambda: state.handoff.escalate(public_id=public_id, reason=reason)
    )
    return escalation.conversation_id


def burmese_worker_waiting(client: TestClient, user: str) -> int:
    line_says(client, user, BURMESE_HELLO)
    settle(client)
    return escalate(client, user, EscalationReason.ASKED_FOR_PERSON)


def claimed(client: TestClient, agent: str, user: str) -> str:
    """A waiting Burmese worker's conversation, claimed by `agent`; its API address."""
    conversation_id = burmese_worker_waiting(client, user)
    base = f"/api/handoff/conversations/{conversation_id}"
    assert client.post(f"{base}/claim", headers=bearer(agent)).status_code == 204
    return base


def test_two_claims_at_the_same_moment_have_one_winner(client: TestClient) -> None:
    first = token_for(client, "aye", Role.AGENT)
    second = token_for(client, "boran", Role.AGENT)
    conversation_id = burmese_worker_waiting(client, "U-race")
    url = f"/api/handoff/conversations/{conversation_id}/claim"

    async def race() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hotline") as http:
            return list(
                await asyncio.gather(
                    http.post(url, headers=bearer(first)), http.post(url, headers=bearer(second))
                )
            )

    answers = client.portal.call(race)
    assert sorted(a.status_code for a in answers) == [204, 409]
    winner = "Aye" if answers[0].status_code == 204 else "Boran"
    loser = next(a for a in answers if a.status_code == 409)
    assert winner in loser.json()["detail"]
    stored = stored_conversation(state_of(client).settings.hotline_database_url, "U-race")
    assert stored["owner"] == "staff"


def test_a_ready_made_reply_reaches_a_burmese_worker_on_line_in_burmese(
    client: TestClient, line_api: FakeLine, texts: Texts
) -> None:
    agent = token_for(client, "chit", Role.AGENT)
    base = claimed(client, agent, "U-burmese")

    canned = client.get("/api/handoff/canned?language=th", headers=bearer(agent)).json()
    hello = next(r for t in canned for r in t["replies"] if r["id"] == "canned.greeting.hello")
    # The staff member reads it in Thai...
    assert hello["text"] == texts.get("th", "canned.greeting.hello")
    sent = client.post(f"{base}/replies", json={"canned_id": hello["id"]}, headers=bearer(agent))
    assert sent.status_code == 201
    settle(client)
    # ...and the worker receives it in Burmese.
    burmese = texts.get("my", "canned.greeting.hello")
    eventually(lambda: burmese in line_api.texts(PUSH))
    view = client.get(base, headers=bearer(agent)).json()
    mine = next(m for m in view["messages"] if m["id"] == sent.json()["id"])
    assert mine["staff_name"] == "Chit" and mine["status"] == "sent"


def test_a_staff_reply_soon_after_the_worker_wrote_uses_their_free_reply_token(
    client: TestClient, line_api: FakeLine
) -> None:
    agent = token_for(client, "sok", Role.AGENT)
    base = claimed(client, agent, "U-token")
    line_api.reset()
    # The bot is silent on this message, so its reply token stays unused...
    line_says(client, "U-token", "are you there?")
    settle(client)
    assert line_api.texts(REPLY) == [] and line_api.texts(PUSH) == []
    sent = client.post(f"{base}/replies", json={"text": "Yes, I am here."}, headers=bearer(agent))
    assert sent.status_code == 201
    settle(client)
    # ...and carries the staff member's answer, where a push would cost the
    # organisation one of its monthly messages.
    eventually(lambda: line_api.texts(REPLY) == ["Yes, I am here."])
    assert line_api.texts(PUSH) == []


def test_the_bot_is_silent_while_staff_own_the_conversation(
    client: TestClient, line_api: FakeLine, texts: Texts
) -> None:
    agent = token_for(client, "dara", Role.AGENT)
    conversation_id = burmese_worker_waiting(client, "U-silent")
    client.post(f"/api/handoff/conversations/{conversation_id}/claim", headers=bearer(agent))
    line_api.reset()
    state = state_of(client)

    async def worker_writes_while_listening() -> list[dict[str, object]]:
        async with state.handoff.events.subscribe() as events:
            await state.dialogue.receive(
                InboundMessage(
                    channel="line", channel_user_id="U-silent", kind=MessageKind.TEXT, text="ok?"
                )
            )
            return [events.get_nowait() for _ in range(events.qsize())]

    events = client.portal.call(worker_writes_while_listening)
    assert {"kind": "message", "conversation_id": conversation_id}.items() <= events[-1].items()
    stored = stored_messages(state.settings.hotline_database_url, "U-silent")
    assert stored[-1]["original_text"] == "ok?" and stored[-1]["status"] == "for_staff"
    # The engine was not asked: no "engine unavailable" answer to that message.
    assert stored[-1]["direction"] == "inbound"
    assert texts.get("my", "engine_unavailable") not in line_api.texts(PUSH)


def test_closing_tells_the_worker_and_hands_back_to_the_bot(
    client: TestClient, line_api: FakeLine, texts: Texts
) -> None:
    agent = token_for(client, "ei", Role.AGENT)
    conversation_id = burmese_worker_waiting(client, "U-close")
    base = f"/api/handoff/conversations/{conversation_id}"
    client.post(f"{base}/claim", headers=bearer(agent))
    note = client.post(f"{base}/notes", json={"text": "employer known"}, headers=bearer(agent))
    assert note.status_code == 201
    closed = client.post(f"{base}/close", json={"outcome": "referred"}, headers=bearer(agent))
    assert closed.status_code == 204
    settle(client)
    eventually(lambda: texts.get("my", "handoff.closed_referred") in line_api.texts(PUSH))
    state = state_of(client)
    stored = stored_conversation(state.settings.hotline_database_url, "U-close")
    assert stored["owner"] == "bot" and stored["claimed_by"] is None
    # The worker never sees the note.
    assert all("employer known" not in t for t in line_api.texts(PUSH))

    async def trail() -> tuple[list[str], str | None]:
        async with state.sessions() as session:
            actions = list(
                (
                    await session.execute(
                        select(AuditEntry.action)
                        .where(
                            AuditEntry.object_type == "conversation",
                            AuditEntry.object_id == str(conversation_id),
                        )
                        .order_by(AuditEntry.id)
                    )
                ).scalars()
            )
            record = (await session.execute(select(HandoffRecord))).scalar_one()
            return actions, record.outcome

    actions, outcome = client.portal.call(trail)
    assert actions == ["conversation.claim", "conversation.note", "conversation.close"]
    assert outcome == "referred"
    # Back with the bot: the next message goes to the engine (down here, so
    # the worker gets the numbers rather than silence).
    numbers = texts.get("my", "engine_unavailable")

    def told_numbers() -> int:
        return (line_api.texts(PUSH) + line_api.texts(REPLY)).count(numbers)

    before = told_numbers()
    line_says(client, "U-close", BURMESE_HELLO)
    settle(client)
    eventually(lambda: told_numbers() == before + 1)


def test_the_queue_puts_emergencies_first_then_the_longest_waiting(client: TestClient) -> None:
    supervisor = token_for(client, "fon", Role.SUPERVISOR)
    for user in ("U-q1", "U-q2", "U-q3"):
        line_says(client, user, "hello")
    settle(client)
    asked = escalate(client, "U-q1", EscalationReason.ASKED_FOR_PERSON)
    missed = escalate(client, "U-q2", EscalationReason.NOT_UNDERSTOOD)
    danger = escalate(client, "U-q3", EscalationReason.EMERGENCY)
    items = client.get("/api/handoff/queue", headers=bearer(supervisor)).json()
    assert [i["conversation_id"] for i in items] == [danger, asked, missed]
    assert items[0]["emergency"] is True and items[0]["reason"] == "emergency"
    assert items[1]["last_messages"][0]["text"] == "hello"
    # The engine is down: the summary says so rather than inventing intents.
    assert items[0]["intents"] is None


def test_an_agent_sees_the_queue_and_their_own_conversations_only(client: TestClient) -> None:
    gan = token_for(client, "gan", Role.AGENT)
    hla = token_for(client, "hla", Role.AGENT)
    conversation_id = burmese_worker_waiting(client, "U-private")
    base = f"/api/handoff/conversations/{conversation_id}"
    client.post(f"{base}/claim", headers=bearer(gan))
    assert client.get(base, headers=bearer(hla)).status_code == 404
    assert client.get("/api/handoff/queue", headers=bearer(hla)).json() == []
    refused = client.post(f"{base}/replies", json={"text": "hi"}, headers=bearer(hla))
    assert refused.status_code == 404
    assert client.get(base, headers=bearer(gan)).status_code == 200
    # Refused exactly as a conversation that does not exist is answered, and
    # kept on record (a conversation that does not exist is not).
    missing = client.get("/api/handoff/conversations/999999", headers=bearer(hla))
    assert client.get(base, headers=bearer(hla)).json() == missing.json()
    refusals = audit_actions(client, "conversation.refused", str(conversation_id))
    assert refusals == [staff_id_of(client, "hla")] * 3
    assert audit_actions(client, "conversation.refused", "999999") == []


def test_a_waiting_worker_hears_their_place_not_on_every_message(
    always_open: TestClient, texts: Texts
) -> None:
    client = always_open
    first, second = ChatWorker(client), ChatWorker(client)
    for worker in (first, second):
        worker.say("hello")
    escalate(client, first.channel_user_id, EscalationReason.ASKED_FOR_PERSON)
    escalate(client, second.channel_user_id, EscalationReason.ASKED_FOR_PERSON)
    again = second.say("anyone?")
    assert [r["text"] for r in again] == [texts.get("en", "handoff.waiting", position="2")]
    assert second.say("hello?") == []


def test_outside_business_hours_the_worker_gets_the_24_hour_numbers(
    settings: Settings, texts: Texts
) -> None:
    # Open only on a day that is not today in Bangkok.
    today = datetime.now(ZoneInfo("Asia/Bangkok")).weekday()
    other_day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[(today + 3) % 7]
    closed = settings.model_copy(update={"hotline_business_hours": f"{other_day} 08:00-17:00"})
    with TestClient(create_app(closed)) as client:
        worker = ChatWorker(client)
        worker.say("hello")
        escalate(client, worker.channel_user_id, EscalationReason.ASKED_FOR_PERSON)
        answer = worker.post("hi?")
    after_hours = texts.get("en", "handoff.after_hours")
    assert [r["text"] for r in answer.json()["replies"]] == [after_hours]
    assert "1300" in after_hours and "1506" in after_hours


def test_business_hours_are_read_in_bangkok_time() -> None:
    hours = BusinessHours.parse("Mon-Fri 08:00-17:00; Sat 09:00-12:00", "Asia/Bangkok")
    # Monday 01:30 UTC is 08:30 in Bangkok.
    assert hours.open_at(datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
    assert not hours.open_at(datetime(2026, 11, 23, 0, 30, tzinfo=UTC))
    assert hours.open_at(datetime(2026, 11, 28, 3, 0, tzinfo=UTC))  # Saturday 10:00
    assert not hours.open_at(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))  # Sunday
    assert BusinessHours.parse("always", "Asia/Bangkok").open_at(datetime.now(UTC))


def test_supervisors_are_alerted_once_when_nobody_claims_in_time(
    settings: Settings, line_api: FakeLine, texts: Texts
) -> None:
    impatient = settings.model_copy(
        update={"hotline_queue_alert_minutes": 0.0, "hotline_business_hours": "always"}
    )
    with TestClient(create_app(impatient)) as client:
        supervisor = token_for(client, "ko", Role.SUPERVISOR)
        conversation_id = burmese_worker_waiting(client, "U-overdue")
        state = state_of(client)

        async def sweep_twice() -> tuple[list[int], list[int], list[dict[str, object]]]:
            async with state.handoff.events.subscribe() as events:
                first = await state.handoff.alert_overdue()
                second = await state.handoff.alert_overdue()
                return first, second, [events.get_nowait() for _ in range(events.qsize())]

        first, second, events = client.portal.call(sweep_twice)
        assert first == [conversation_id] and second == []
        assert [e["kind"] for e in events] == ["overdue"]
        settle(client)
        eventually(lambda: texts.get("my", "handoff.overdue") in line_api.texts(PUSH))
        items = client.get("/api/handoff/queue", headers=bearer(supervisor)).json()
        assert items[0]["overdue"] is True


def test_a_reply_the_channel_refused_is_shown_and_can_be_sent_again(
    client: TestClient, line_api: FakeLine
) -> None:
    agent = token_for(client, "lin", Role.AGENT)
    base = claimed(client, agent, "U-failed")
    line_api.fail(PUSH, 400, times=1)
    sent = client.post(f"{base}/replies", json={"text": "Are you there?"}, headers=bearer(agent))
    settle(client)
    view = client.get(base, headers=bearer(agent)).json()
    failed = next(m for m in view["messages"] if m["id"] == sent.json()["id"])
    assert failed["status"] == "failed" and failed["last_error"]
    assert view["conversation"]["failed_messages"] == 1
    retried = client.post(f"{base}/messages/{failed['id']}/retry", headers=bearer(agent))
    assert retried.status_code == 204
    settle(client)
    eventually(lambda: "Are you there?" in line_api.texts(PUSH))
    view = client.get(base, headers=bearer(agent)).json()
    assert next(m for m in view["messages"] if m["id"] == failed["id"])["status"] == "sent"


def test_transfer_to_a_colleague_and_back_to_the_queue(client: TestClient) -> None:
    mya = token_for(client, "mya", Role.AGENT)
    nang = token_for(client, "nang", Role.AGENT)
    conversation_id = burmese_worker_waiting(client, "U-transfer")
    base = f"/api/handoff/conversations/{conversation_id}"
    client.post(f"{base}/claim", headers=bearer(mya))
    colleagues = client.get("/api/handoff/staff", headers=bearer(mya)).json()
    nang_id = next(c["id"] for c in colleagues if c["name"] == "Nang")
    moved = client.post(f"{base}/transfer", json={"to_staff_id": nang_id}, headers=bearer(mya))
    assert moved.status_code == 204
    assert client.get(base, headers=bearer(mya)).status_code == 404
    back = client.post(f"{base}/transfer", json={"to_staff_id": None}, headers=bearer(nang))
    assert back.status_code == 204
    waiting = client.get("/api/handoff/queue", headers=bearer(mya)).json()
    assert [i["conversation_id"] for i in waiting] == [conversation_id]
    assert waiting[0]["owner"] == "queued"


def test_the_live_stream_needs_a_sign_in_and_carries_ids_only(client: TestClient) -> None:
    assert client.get("/api/handoff/events").status_code == 401
    agent = token_for(client, "oo", Role.AGENT)
    state = state_of(client)
    with client.stream("GET", "/api/handoff/events", headers=bearer(agent)) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "retry: 3000"
        client.portal.call(
            lambda: state.handoff.worker_wrote(
                conversation_id=7, message_id=42, kind=MessageKind.TEXT
            )
        )
        received = [next(lines) for _ in range(4)]
    assert received[1:3] == [
        "event: message",
        'data: {"kind": "message", "conversation_id": 7, "message_id": 42, '
        '"direction": "inbound", "message_kind": "text"}',
    ]


def test_the_live_stream_ends_once_its_staff_member_is_deactivated(client: TestClient) -> None:
    agent = token_for(client, "thet", Role.AGENT)
    thet = staff_id_of(client, "thet")
    state = state_of(client)
    with client.stream("GET", "/api/handoff/events", headers=bearer(agent)) as stream:
        lines = stream.iter_lines()
        assert next(lines) == "retry: 3000"

        async def deactivate() -> None:
            await state.accounts.set_active(staff_id=thet, active=False, by_staff_id=None)

        client.portal.call(deactivate)
        client.portal.call(
            lambda: state.handoff.worker_wrote(
                conversation_id=8, message_id=43, kind=MessageKind.TEXT
            )
        )
        # The stream ends instead of carrying the event.
        after = list(itertools.islice(lines, 3))
    assert not any(line.startswith("event:") for line in after)


def test_a_staff_reply_reaches_the_web_chat_when_the_page_asks(
    always_open: TestClient, texts: Texts
) -> None:
    client = always_open
    agent = token_for(client, "pan", Role.AGENT)
    worker = ChatWorker(client)
    worker.say("hello")
    conversation_id = escalate(client, worker.channel_user_id, EscalationReason.ASKED_FOR_PERSON)
    base = f"/api/handoff/conversations/{conversation_id}"
    client.post(f"{base}/claim", headers=bearer(agent))
    client.post(f"{base}/replies", json={"text": "I am here <b>now</b>"}, headers=bearer(agent))
    waiting = worker.poll().json()["replies"]
    assert [r["text"] for r in waiting] == ["I am here <b>now</b>"]
    assert worker.poll().json() == {"replies": []}
    client.post(f"{base}/close", json={"outcome": "resolved"}, headers=bearer(agent))
    closing = worker.poll().json()["replies"]
    assert [r["text"] for r in closing] == [texts.get("en", "handoff.closed")]


def test_the_wait_estimate_learns_from_recent_claims(always_open: TestClient, texts: Texts) -> None:
    client = always_open
    agent = token_for(client, "phyu", Role.AGENT)
    first, later = ChatWorker(client), ChatWorker(client)
    for worker in (first, later):
        worker.say("hello")
    earlier = escalate(client, first.channel_user_id, EscalationReason.ASKED_FOR_PERSON)
    client.post(f"/api/handoff/conversations/{earlier}/claim", headers=bearer(agent))
    escalate(client, later.channel_user_id, EscalationReason.ASKED_FOR_PERSON)
    answer = later.post("anyone?")
    # The earlier worker was taken at once; estimates are rounded up to 5 minutes.
    assert [r["text"] for r in answer.json()["replies"]] == [
        texts.get("en", "handoff.waiting_estimate", position="1", minutes="5")
    ]
