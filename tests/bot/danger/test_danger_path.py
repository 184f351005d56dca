"""What follows when the hotline reads danger, through LINE's signed webhook.

The engine is down in these tests (nothing listens at its address), which is
one of the states in which danger must still be read: every reply here
comes from the app. The real engine's part is in
tests/integration/test_danger.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bot.conversations import service as conversations
from bot.conversations.models import EscalationReason
from bot.danger import DangerDetector
from bot.danger.replies import DANGER_NO, DANGER_YES
from bot.privacy import queries as privacy
from bot.staff.models import Role
from bot.texts import Texts
from core.settings import Settings
from tests.fakes.line_api import FakeLine
from tests.support import (
    eventually,
    rows,
    stored_conversation,
    stored_messages,
)
from tests.support.console import add_staff, state_of
from tests.support.danger import context_pair
from tests.support.slow_engine import presses, says

PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"
# Not a danger word, and no model is needed to see the danger in it: with
# the doubt band widened below, it is doubt.
UNSURE = "my friend fell from the scaffold and does not wake up"


@pytest.fixture
def texts(settings: Settings) -> Texts:
    return Texts(settings.hotline_locales_dir)


@pytest.fixture
def doubtful(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    """The app with a doubt band so wide that what the model reads as
    danger is doubt (the danger words still raise danger)."""
    content = tmp_path / "content"
    shutil.copytree(settings.hotline_content_dir, content)
    (content / "danger_decision.yml").write_text(
        "danger_at: 0.9999\ndoubt_at: 0.05\nsituation_at: 0.5\n", encoding="utf-8"
    )
    with TestClient(create_app(settings.model_copy(update={"hotline_content_dir": content}))) as c:
        yield c


def sent_to(line_api: FakeLine) -> list[dict[str, Any]]:
    return [
        m for call in line_api.calls(REPLY) + line_api.calls(PUSH) for m in call.body["messages"]
    ]


def priority(settings: Settings, user: str) -> int:
    return int(stored_conversation(settings.hotline_database_url, user)["priority"])


def alarms_of(settings: Settings, user: str) -> list[tuple[Any, ...]]:
    return rows(
        settings.hotline_database_url,
        "SELECT a.level, a.signal, a.situation, a.worker_answer, a.message_id IS NOT NULL "
        "FROM danger_alarms a JOIN conversations c ON c.id = a.conversation_id "
        "JOIN workers w ON w.id = c.worker_id WHERE w.channel_user_id = :user ORDER BY a.id",
        user=user,
    )


def test_danger_sends_the_numbers_first_and_records_why(
    client: TestClient, line_api: FakeLine, settings: Settings, texts: Texts
) -> None:
    says(client, "U-knife", "he is waiting at the door with a knife, please help me")
    [reply] = line_api.wait_for(REPLY)
    assert reply.body["messages"][0]["text"].startswith(texts.get("en", "emergency"))
    # Then staff first: the numbers did not wait for the queue.
    eventually(lambda: priority(settings, "U-knife") == 100)
    conversation = stored_conversation(settings.hotline_database_url, "U-knife")
    assert conversation["escalation_reason"] == "emergency"
    [(level, signal, _, answer, with_message)] = alarms_of(settings, "U-knife")
    assert (level, answer, with_message) == ("danger", None, True)
    assert signal in ("words", "model")


def test_fire_adds_the_fire_and_disaster_lines(
    client: TestClient, line_api: FakeLine, texts: Texts
) -> None:
    says(client, "U-fire", "ไฟไหม้โรงงาน พวกเราติดอยู่ชั้นสาม ควันเต็มไปหมด")
    [reply] = line_api.wait_for(REPLY)
    numbers = reply.body["messages"][0]["text"]
    assert numbers.startswith(texts.get("th", "emergency"))
    assert texts.get("th", "emergency.fire") in numbers
    assert "199" in numbers and "1784" in numbers


def test_at_sea_adds_the_marine_line(client: TestClient, line_api: FakeLine, texts: Texts) -> None:
    says(client, "U-sea", "captain threw my friend into the sea, we are far from land")
    [reply] = line_api.wait_for(REPLY)
    assert texts.get("en", "emergency.sea") in reply.body["messages"][0]["text"]


def test_doubt_sends_the_numbers_and_asks_and_no_goes_on(
    doubtful: TestClient, line_api: FakeLine, settings: Settings, texts: Texts
) -> None:
    says(doubtful, "U-doubt-no", UNSURE)
    [reply] = line_api.wait_for(REPLY)
    numbers, question = reply.body["messages"][:2]
    assert numbers["text"] == texts.get("en", "emergency")
    assert question["text"] == texts.get("en", "danger_check")
    items = question["quickReply"]["items"]
    assert [item["action"]["data"] for item in items] == [DANGER_YES, DANGER_NO]
    # The numbers did not wait for the engine: its part (down here) follows.
    eventually(lambda: texts.get("en", "engine_unavailable") in line_api.texts(PUSH))
    assert stored_conversation(settings.hotline_database_url, "U-doubt-no")["owner"] == "bot"

    line_api.reset()
    presses(doubtful, "U-doubt-no", DANGER_NO)
    [reply] = line_api.wait_for(REPLY)
    assert [m["text"] for m in reply.body["messages"]] == [texts.get("en", "danger_denied")]
    assert stored_conversation(settings.hotline_database_url, "U-doubt-no")["owner"] == "bot"
    assert [(a[0], a[1], a[3]) for a in alarms_of(settings, "U-doubt-no")] == [
        ("doubt", "model", "no")
    ]
    # The button never reached the engine as words of the worker's.
    inbound = [m for m in stored_messages(settings.hotline_database_url, "U-doubt-no")
               if m["direction"] == "inbound"]  # fmt: skip
    assert inbound[-1]["status"] == "answered"


def test_doubt_answered_yes_takes_the_emergency_path(
    doubtful: TestClient, line_api: FakeLine, settings: Settings, texts: Texts
) -> None:
    says(doubtful, "U-doubt-yes", UNSURE)
    line_api.wait_for(REPLY)
    # The engine's part of the first message (down here) comes before the
    # answer to the button, in the order the worker wrote: wait for it, or
    # it may take the button's reply token.
    eventually(lambda: texts.get("en", "engine_unavailable") in line_api.texts(PUSH))
    line_api.reset()
    presses(doubtful, "U-doubt-yes", DANGER_YES)
    [reply] = line_api.wait_for(REPLY)
    assert reply.body["messages"][0]["text"] == texts.get("en", "danger_confirmed")
    conversation = stored_conversation(settings.hotline_database_url, "U-doubt-yes")
    assert (conversation["owner"], conversation["escalation_reason"]) == ("queued", "emergency")
    assert conversation["priority"] == 100
    assert [(a[0], a[3]) for a in alarms_of(settings, "U-doubt-yes")] == [("doubt", "yes")]


def test_yes_pressed_without_a_question_pending_is_still_danger(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    presses(client, "U-late-yes", DANGER_YES)
    line_api.wait_for(REPLY)
    eventually(lambda: priority(settings, "U-late-yes") == 100)
    assert [(a[0], a[1]) for a in alarms_of(settings, "U-late-yes")] == [("danger", "worker")]


def test_the_message_before_can_raise_doubt(
    settings: Settings, tmp_path: Path, line_api: FakeLine, texts: Texts
) -> None:
    detector = DangerDetector.from_content(
        settings.hotline_content_dir,
        settings.hotline_nlu_data_dir,
        cache_dir=settings.hotline_danger_cache_dir,
    )
    previous, now, line = context_pair(detector.model)
    content = tmp_path / "content"
    shutil.copytree(settings.hotline_content_dir, content)
    (content / "danger_decision.yml").write_text(
        f"danger_at: {max(line, 0.99)}\ndoubt_at: {line}\nsituation_at: 0.5\n", encoding="utf-8"
    )
    with TestClient(create_app(settings.model_copy(update={"hotline_content_dir": content}))) as c:
        says(c, "U-context", previous)
        line_api.wait_for(REPLY)
        says(c, "U-context", now)
        eventually(lambda: texts.get("en", "danger_check") in _texts(line_api))
    assert [(a[0], a[1]) for a in alarms_of(settings, "U-context")] == [("doubt", "context")]


def test_with_staff_the_numbers_still_go_and_the_staff_member_keeps_the_worker(
    client: TestClient, line_api: FakeLine, settings: Settings, texts: Texts
) -> None:
    says(client, "U-with-staff", "I want to talk to a person")
    state = state_of(client)
    public_id = stored_conversation(settings.hotline_database_url, "U-with-staff")["public_id"]
    escalation = client.portal.call(
        lambda: state.handoff.escalate(
            public_id=public_id, reason=EscalationReason.ASKED_FOR_PERSON
        )
    )
    staff_id = add_staff(client, "agent-danger", Role.AGENT)
    client.portal.call(
        lambda: state.handoff.claim(
            staff=_member(client, staff_id), conversation_id=escalation.conversation_id
        )
    )
    line_api.reset()
    says(client, "U-with-staff", "they are breaking the door, he has a gun")
    eventually(lambda: any(t.startswith(texts.get("en", "emergency")) for t in _texts(line_api)))
    eventually(lambda: priority(settings, "U-with-staff") == 100)
    conversation = stored_conversation(settings.hotline_database_url, "U-with-staff")
    assert (conversation["owner"], conversation["claimed_by"]) == ("staff", staff_id)
    assert alarms_of(settings, "U-with-staff")[0][0] == "danger"


def test_flooding_does_not_hold_back_the_numbers(
    settings: Settings, line_api: FakeLine, texts: Texts
) -> None:
    limited = settings.model_copy(update={"hotline_flood_messages": 2})
    with TestClient(create_app(limited)) as client:
        for n in range(4):
            says(client, "U-flood-danger", f"hello {n}")
        says(client, "U-flood-danger", "the truck has no air, the children are not waking up")
        eventually(
            lambda: any(t.startswith(texts.get("en", "emergency")) for t in _texts(line_api))
        )
    assert alarms_of(settings, "U-flood-danger")[0][0] in ("danger", "doubt")


def test_ordinary_hyperbole_raises_no_alarm(
    client: TestClient, line_api: FakeLine, settings: Settings, texts: Texts
) -> None:
    for text in ("this heat is killing me haha", "ร้อนจะตายแล้ววันนี้", "what is the police number"):
        says(client, "U-calm", text)
    eventually(lambda: len(line_api.calls(REPLY)) + len(line_api.calls(PUSH)) >= 3)
    assert alarms_of(settings, "U-calm") == []
    assert not any(t.startswith(texts.get("en", "emergency")) for t in _texts(line_api))


def _texts(line_api: FakeLine) -> list[str]:
    return [m["text"] for m in sent_to(line_api)]


@dataclass(frozen=True)
class _Member:
    """A staff member as the handoff service sees one."""

    id: int
    role: str


def _member(client: TestClient, staff_id: int) -> _Member:
    return _Member(id=staff_id, role=Role.AGENT.value)


def test_erasing_a_worker_removes_their_alarms(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    says(client, "U-erase-alarm", "help me they are beating me now")
    line_api.wait_for(REPLY)
    assert alarms_of(settings, "U-erase-alarm")
    state = state_of(client)
    staff_id = add_staff(client, "sup-erase", Role.SUPERVISOR)

    async def ask() -> int:
        async with state.sessions.begin() as session:
            worker = await conversations.get_or_create_worker(
                session=session, channel="line", channel_user_id="U-erase-alarm"
            )
            return (await privacy.request_deletion(session=session, worker=worker)).id

    request_id = client.portal.call(ask)
    client.portal.call(
        lambda: state.keeping.decide_deletion(
            request_id=request_id, staff_id=staff_id, confirm=True
        )
    )
    assert rows(settings.hotline_database_url, "SELECT id FROM danger_alarms") == []
