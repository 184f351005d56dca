"""Replies in the encoding the worker's phone reads, through the channels'
stand-ins (engine down: the app's own replies are enough to see it).

Stored replies stay Unicode; what the platform receives is Zawgyi for a
worker whose messages arrive in Zawgyi, until they press "Unicode".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.channels.telegram import SECRET_HEADER
from bot.conversations.models import EscalationReason
from bot.encoding import CHOOSE_UNICODE, CHOOSE_ZAWGYI
from bot.normalise import normalise, unicode_to_zawgyi
from bot.staff.models import Role
from bot.texts import Texts
from core.settings import Settings
from tests.fakes.line_api import FakeLine
from tests.fakes.telegram_api import (
    WEBHOOK_SECRET,
    FakeTelegram,
    callback_update,
    text_update,
)
from tests.support import (
    ChatWorker,
    eventually,
    rows,
    stored_conversation,
    stored_from_inbox,
    stored_messages,
)
from tests.support.console import add_staff, state_of
from tests.support.slow_engine import presses, says

# "How much is the wage?", as a phone with a Zawgyi font sends it, and as
# Unicode. Neither is danger; the detector is sure of both.
ZAWGYI_QUESTION = "လုပ္ခ ဘယ္ေလာက္ရမလဲ"
UNICODE_QUESTION = "လုပ်ခ ဘယ်လောက်ရမလဲ"
# Reads the same in both encodings (the detector still scores it Zawgyi).
EITHER = "မရဘူး"
PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"


@pytest.fixture
def texts(settings: Settings) -> Texts:
    return Texts(settings.hotline_locales_dir)


def outbound(settings: Settings, user: str) -> list[dict[str, Any]]:
    messages = stored_messages(settings.hotline_database_url, user)
    return [m for m in messages if m["direction"] == "outbound"]


def all_sent(settings: Settings, user: str) -> bool:
    replies = outbound(settings, user)
    return bool(replies) and all(m["status"] == "sent" for m in replies)


def line_received(line_api: FakeLine) -> list[dict[str, Any]]:
    """Every message LINE was handed, replies and pushes, in order."""
    return [
        message
        for request in line_api.requests
        if request.path.endswith((REPLY, PUSH))
        for message in request.body["messages"]
    ]


def exchange(
    client: TestClient, line_api: FakeLine, settings: Settings, user: str, action: Any
) -> tuple[list[dict[str, Any]], list[str]]:
    """What LINE received for one message of the worker's, and the replies
    stored for it (their Unicode texts)."""
    before = len(outbound(settings, user))
    line_api.reset()
    action()
    eventually(lambda: len(outbound(settings, user)) > before and all_sent(settings, user))
    stored = [m["text"] for m in outbound(settings, user)[before:]]
    eventually(lambda: len(line_received(line_api)) == len(stored))
    return line_received(line_api), stored


def quick_replies(message: dict[str, Any]) -> list[tuple[str, str]]:
    items = message.get("quickReply", {}).get("items", [])
    return [(item["action"]["label"], item["action"]["data"]) for item in items]


def encodings(settings: Settings, user: str) -> tuple[Any, ...]:
    [found] = rows(
        settings.hotline_database_url,
        "SELECT encoding_choice, encoding_detected, zawgyi_offered_at IS NOT NULL "
        "FROM workers WHERE channel_user_id = :user",
        user=user,
    )
    return found


def test_a_zawgyi_worker_reads_zawgyi_with_unicode_a_press_away_and_the_choice_is_kept(
    client: TestClient, line_api: FakeLine, settings: Settings, texts: Texts
) -> None:
    received, stored = exchange(
        client, line_api, settings, "U-zg", lambda: says(client, "U-zg", ZAWGYI_QUESTION)
    )
    # Stored as staff read it: Unicode, the engine's fallback and the offer.
    assert stored == [texts.get("my", "engine_unavailable"), texts.get("my", "encoding_offer")]
    # Handed to LINE in Zawgyi, reading back as what was stored.
    assert [m["text"] for m in received] == [unicode_to_zawgyi(text) for text in stored]
    assert [normalise(m["text"]).text for m in received] == stored
    assert received[0]["text"] != stored[0]
    # The button's title converted, its payload not.
    title = texts.get("my", "encoding.unicode")
    assert quick_replies(received[-1]) == [(unicode_to_zawgyi(title), CHOOSE_UNICODE)]
    assert encodings(settings, "U-zg") == (None, "zawgyi", True)
    # The worker's words are stored in Unicode too.
    inbound = stored_messages(settings.hotline_database_url, "U-zg")[0]
    assert (inbound["text"], inbound["original_text"]) == (UNICODE_QUESTION, ZAWGYI_QUESTION)

    # Offered once: the next Zawgyi message gets its answer alone.
    received, stored = exchange(
        client, line_api, settings, "U-zg", lambda: says(client, "U-zg", ZAWGYI_QUESTION)
    )
    assert stored == [texts.get("my", "engine_unavailable")]
    assert [m["text"] for m in received] == [unicode_to_zawgyi(stored[0])]

    # "Unicode": answered by the hotline, in Unicode, with the way back.
    received, stored = exchange(
        client, line_api, settings, "U-zg", lambda: presses(client, "U-zg", CHOOSE_UNICODE)
    )
    assert stored == [texts.get("my", "encoding_chosen.unicode")]
    assert [m["text"] for m in received] == stored
    assert quick_replies(received[0]) == [(texts.get("my", "encoding.zawgyi"), CHOOSE_ZAWGYI)]
    press = stored_messages(settings.hotline_database_url, "U-zg")[-2]
    assert (press["direction"], press["status"]) == ("inbound", "answered")

    # Kept, though the next message is Zawgyi again.
    received, stored = exchange(
        client, line_api, settings, "U-zg", lambda: says(client, "U-zg", ZAWGYI_QUESTION)
    )
    assert [m["text"] for m in received] == stored == [texts.get("my", "engine_unavailable")]
    assert encodings(settings, "U-zg") == ("unicode", "zawgyi", True)

    # "Zawgyi" takes them back, whatever their messages show.
    received, stored = exchange(
        client, line_api, settings, "U-zg", lambda: presses(client, "U-zg", CHOOSE_ZAWGYI)
    )
    assert [m["text"] for m in received] == [unicode_to_zawgyi(stored[0])]
    received, stored = exchange(
        client, line_api, settings, "U-zg", lambda: says(client, "U-zg", UNICODE_QUESTION)
    )
    assert [m["text"] for m in received] == [unicode_to_zawgyi(stored[0])]


def test_a_unicode_burmese_worker_never_reads_zawgyi(
    client: TestClient, line_api: FakeLine, settings: Settings, texts: Texts
) -> None:
    for text in (UNICODE_QUESTION, EITHER, "hello"):
        received, stored = exchange(
            client, line_api, settings, "U-uni", lambda text=text: says(client, "U-uni", text)
        )
        assert [m["text"] for m in received] == stored
        assert texts.get("my", "encoding_offer") not in stored
    assert encodings(settings, "U-uni") == (None, "unicode", False)


def test_a_worker_whose_messages_turn_unicode_is_answered_in_unicode_again(
    client: TestClient, line_api: FakeLine, settings: Settings, texts: Texts
) -> None:
    exchange(client, line_api, settings, "U-back", lambda: says(client, "U-back", ZAWGYI_QUESTION))
    # A text that could be either does not move them (whatever the
    # hotline makes of it: after a question about pay, "I don't get it"
    # may read as doubt, and the emergency numbers go out in Zawgyi too).
    received, stored = exchange(
        client, line_api, settings, "U-back", lambda: says(client, "U-back", EITHER)
    )
    assert [m["text"] for m in received] == [unicode_to_zawgyi(text) for text in stored]
    received, stored = exchange(
        client, line_api, settings, "U-back", lambda: says(client, "U-back", UNICODE_QUESTION)
    )
    assert [m["text"] for m in received] == stored == [texts.get("my", "engine_unavailable")]
    # Back in Zawgyi later: not offered again.
    received, stored = exchange(
        client, line_api, settings, "U-back", lambda: says(client, "U-back", ZAWGYI_QUESTION)
    )
    assert stored == [texts.get("my", "engine_unavailable")]
    assert [m["text"] for m in received] == [unicode_to_zawgyi(stored[0])]


@dataclass(frozen=True)
class _Member:
    """A staff member as the handoff service sees one."""

    id: int
    role: str


def test_a_staff_reply_to_a_zawgyi_worker_goes_out_in_zawgyi_and_is_kept_in_unicode(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    exchange(
        client, line_api, settings, "U-staff", lambda: says(client, "U-staff", ZAWGYI_QUESTION)
    )
    state = state_of(client)
    public_id = stored_conversation(settings.hotline_database_url, "U-staff")["public_id"]
    escalation = client.portal.call(
        lambda: state.handoff.escalate(
            public_id=public_id, reason=EscalationReason.ASKED_FOR_PERSON
        )
    )
    staff = _Member(id=add_staff(client, "agent-zawgyi", Role.AGENT), role=Role.AGENT.value)
    client.portal.call(
        lambda: state.handoff.claim(staff=staff, conversation_id=escalation.conversation_id)
    )
    words = "မင်္ဂလာပါ။ လစာ ဘယ်လောက် မရသေးလဲ။"

    def staff_replies() -> None:
        client.portal.call(
            lambda: state.handoff.reply(
                staff=staff, conversation_id=escalation.conversation_id, text=words
            )
        )

    received, stored = exchange(client, line_api, settings, "U-staff", staff_replies)
    # Whatever the claim told the worker first, the staff member's words
    # are the last: stored as written, received in Zawgyi.
    assert stored[-1] == words
    assert received[-1]["text"] == unicode_to_zawgyi(words) != words
    assert normalise(received[-1]["text"]).text == words


def test_telegram_converts_texts_and_button_titles_and_hears_the_switch(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings, texts: Texts
) -> None:
    client.post("/webhooks/telegram", json=text_update(1, 701, ZAWGYI_QUESTION), headers=_secret())
    stored_from_inbox(client)
    sent = telegram_api.wait_for("/sendMessage", count=2)
    assert [s.body["text"] for s in sent] == [
        unicode_to_zawgyi(texts.get("my", "engine_unavailable")),
        unicode_to_zawgyi(texts.get("my", "encoding_offer")),
    ]
    [[button]] = _keyboard(sent[1].body)
    assert (button["text"], button["callback_data"]) == (
        unicode_to_zawgyi(texts.get("my", "encoding.unicode")),
        CHOOSE_UNICODE,
    )
    telegram_api.reset()
    client.post(
        "/webhooks/telegram", json=callback_update(2, 701, CHOOSE_UNICODE), headers=_secret()
    )
    stored_from_inbox(client)
    [sent_after] = telegram_api.wait_for("/sendMessage")
    assert sent_after.body["text"] == texts.get("my", "encoding_chosen.unicode")


def _secret() -> dict[str, str]:
    return {SECRET_HEADER: WEBHOOK_SECRET}


def _keyboard(body: dict[str, Any]) -> list[list[dict[str, str]]]:
    keyboard: list[list[dict[str, str]]] = body["reply_markup"]["inline_keyboard"]
    return keyboard


def test_the_web_chat_answers_a_zawgyi_worker_in_zawgyi(
    client: TestClient, settings: Settings, texts: Texts
) -> None:
    worker = ChatWorker(client)
    replies = worker.say(ZAWGYI_QUESTION)
    stored = [m["text"] for m in outbound(settings, worker.channel_user_id)]
    assert stored == [texts.get("my", "engine_unavailable"), texts.get("my", "encoding_offer")]
    assert [r["text"] for r in replies] == [unicode_to_zawgyi(text) for text in stored]
    assert replies[-1]["buttons"] == [
        {"title": unicode_to_zawgyi(texts.get("my", "encoding.unicode")), "payload": CHOOSE_UNICODE}
    ]
    [chosen] = worker.say(CHOOSE_UNICODE)
    assert chosen["text"] == texts.get("my", "encoding_chosen.unicode")
    [answer] = worker.say(ZAWGYI_QUESTION)
    assert answer["text"] == texts.get("my", "engine_unavailable")
