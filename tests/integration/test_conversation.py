"""Conversations through the real engine and its trained model, over the
web chat endpoint, in several languages.
"""

from typing import Any

import httpx
import pytest

from api.webchat import COOKIE, channel_user_id_of
from bot.encoding import readable, readable_buttons
from bot.normalise import ZAWGYI
from bot.responses import choose_language_payload
from bot.texts import Texts
from core.settings import PROJECT_ROOT
from tests.support import stored_conversation, stored_messages
from tests.support.stack import Stack

pytestmark = pytest.mark.engine

TEXTS = Texts(PROJECT_ROOT / "locales")
PICKER = ["မြန်မာ", "ខ្មែរ", "ລາວ", "ไทย", "English"]


# Each worker's browser keeps the identity cookie the hotline set; `sender`
# names the worker in a test.
_COOKIES: dict[str, httpx.Cookies] = {}


def say(stack: Stack, sender: str, text: str) -> list[dict[str, Any]]:
    cookies = _COOKIES.setdefault(sender, httpx.Cookies())
    response = httpx.post(
        f"{stack.app_url}/webchat/messages", json={"text": text}, cookies=cookies, timeout=60
    )
    assert response.status_code == 200, response.text
    cookies.update(response.cookies)
    replies: list[dict[str, Any]] = response.json()["replies"]
    return replies


def worker(sender: str) -> str:
    """The worker as the database knows them (their cookie's hash)."""
    return channel_user_id_of(_COOKIES[sender][COOKIE])


def texts_of(replies: list[dict[str, Any]]) -> list[str]:
    return [reply["text"] for reply in replies]


def test_a_new_worker_is_welcomed_with_the_language_picker(stack: Stack) -> None:
    replies = say(stack, "web-new", "/start")
    assert texts_of(replies) == [TEXTS.get("en", "welcome")]
    assert [button["title"] for button in replies[0]["buttons"]] == PICKER


def test_a_burmese_greeting_is_answered_in_burmese(stack: Stack) -> None:
    replies = say(stack, "web-my", "မင်္ဂလာပါ")
    assert texts_of(replies) == [TEXTS.get("my", "welcome")]
    # A later greeting is a plain greeting, still in Burmese.
    assert texts_of(say(stack, "web-my", "မင်္ဂလာပါ ခင်ဗျာ")) == [TEXTS.get("my", "greet")]


def test_choosing_khmer_then_asking_for_numbers_answers_in_khmer(stack: Stack) -> None:
    say(stack, "web-km", "/start")
    chosen = say(stack, "web-km", choose_language_payload("km"))
    assert texts_of(chosen) == [TEXTS.get("km", "language_set")]

    replies = say(stack, "web-km", "សុំលេខទូរស័ព្ទជំនួយ")
    assert texts_of(replies) == [TEXTS.get("km", "hotlines")]
    for number in ("1546", "1694", "1506", "1300", "191", "1669"):
        assert number in replies[0]["text"]
    # The choice holds even when the worker then types in English.
    assert texts_of(say(stack, "web-km", "what number can I call")) == [TEXTS.get("km", "hotlines")]


def test_thai_and_lao_workers_are_answered_in_their_script(stack: Stack) -> None:
    assert texts_of(say(stack, "web-th", "ขอเบอร์โทรสายด่วนหน่อยครับ")) == [TEXTS.get("th", "hotlines")]
    assert texts_of(say(stack, "web-lo", "ຂໍເບີໂທສາຍດ່ວນແດ່")) == [TEXTS.get("lo", "hotlines")]


def test_the_language_can_be_changed_at_any_time_by_typing(stack: Stack) -> None:
    say(stack, "web-switch", "မင်္ဂလာပါ")
    replies = say(stack, "web-switch", "English please")
    assert texts_of(replies) == [TEXTS.get("en", "language_set")]
    assert texts_of(say(stack, "web-switch", "thank you")) == [TEXTS.get("en", "you_are_welcome")]


def test_the_language_button_offers_the_picker_again(stack: Stack) -> None:
    say(stack, "web-again", "/start")
    replies = say(stack, "web-again", "/choose_language")
    assert texts_of(replies) == [TEXTS.get("en", "choose_language")]
    assert [button["title"] for button in replies[0]["buttons"]] == PICKER


def test_danger_gets_the_emergency_numbers(stack: Stack) -> None:
    replies = say(stack, "web-danger", "ช่วยด้วย นายจ้างกำลังทำร้ายผม")
    assert texts_of(replies)[0] == TEXTS.get("th", "emergency")
    # The worker now waits for staff, at the front of the queue; the bot says no more.
    assert TEXTS.get("th", "emergency") not in texts_of(replies)[1:]
    conversation = stored_conversation(stack.database_url, worker("web-danger"))
    # (First among the web chat's; LINE's and Telegram's go before it.)
    assert (conversation["owner"], conversation["priority"]) == ("queued", 90)


def test_every_message_in_and_out_is_stored(stack: Stack) -> None:
    say(stack, "web-stored", "hello")
    say(stack, "web-stored", "bye")
    stored = stored_messages(stack.database_url, worker("web-stored"))
    assert [m["direction"] for m in stored] == ["inbound", "outbound", "inbound", "outbound"]
    assert all(m["status"] in ("answered", "sent") for m in stored)
    assert stored[0]["original_text"] == "hello"


def test_bad_input_through_the_live_stack(stack: Stack) -> None:
    url = f"{stack.app_url}/webchat/messages"
    assert httpx.post(url, json={"text": ""}).status_code == 422
    assert (
        httpx.post(url, content=b"{oops", headers={"content-type": "application/json"}).status_code
        == 422
    )
    long_text = "ဘာလုပ်ရမလဲ " * 2000
    replies = say(stack, "web-bad", long_text)
    assert replies and replies[0]["text"]
    stored = stored_messages(stack.database_url, worker("web-bad"))
    assert stored[0]["original_text"] == long_text


def latest_intent(stack: Stack, channel_user_id: str) -> str:
    from tests.support.actions import public_id_of

    sender = public_id_of(stack.database_url, channel_user_id)
    tracker = httpx.get(
        f"{stack.engine_url}/conversations/{sender}/tracker",
        params={"token": "integration-token"},
        timeout=30,
    ).json()
    return str(tracker["latest_message"]["intent"]["name"])


def test_zawgyi_and_its_unicode_twin_are_understood_alike(stack: Stack) -> None:
    unicode_text = "ဖုန်းနံပါတ် ပေးပါ"
    zawgyi_text = "ဖုန္းနံပါတ္ ေပးပါ"
    assert zawgyi_text != unicode_text
    unicode_replies = say(stack, "web-unicode", unicode_text)
    zawgyi_replies = say(stack, "web-zawgyi", zawgyi_text)
    # The same answer, as the Zawgyi phone reads it, and once the offer to
    # switch to Unicode.
    *answer, offer = zawgyi_replies
    assert answer == [
        {
            "text": readable(reply["text"], ZAWGYI),
            "buttons": readable_buttons(reply["buttons"], ZAWGYI),
        }
        for reply in unicode_replies
    ]
    assert offer["text"] == readable(TEXTS.get("my", "encoding_offer"), ZAWGYI)
    assert latest_intent(stack, worker("web-zawgyi")) == latest_intent(stack, worker("web-unicode"))
    stored = stored_messages(stack.database_url, worker("web-zawgyi"))
    assert stored[0]["original_text"] == zawgyi_text
    assert stored[0]["text"] == unicode_text
    assert stored[0]["language"] == "my"


def test_romanised_burmese_is_answered_in_burmese(stack: Stack) -> None:
    replies = say(stack, "web-latin-my", "mingalaba")
    assert texts_of(replies) == [TEXTS.get("my", "welcome")]


def test_a_second_miss_in_a_row_offers_staff(stack: Stack) -> None:
    say(stack, "web-miss", "/start")
    first = say(stack, "web-miss", "/nlu_fallback")
    second = say(stack, "web-miss", "/nlu_fallback")
    assert texts_of(first) == [TEXTS.get("en", "not_understood")]
    assert texts_of(second) == [TEXTS.get("en", "not_understood_again")]
    assert second[0]["buttons"][0]["payload"] == "/request_human"


def test_minimum_wage_for_a_named_province_in_thai(stack: Stack) -> None:
    replies = say(stack, "web-wage-th", "ค่าแรงขั้นต่ำ สมุทรสาคร เท่าไหร่ครับ")
    assert len(replies) == 1
    assert "372" in replies[0]["text"] and "1546" in replies[0]["text"]
    assert "Samut Sakhon" in replies[0]["text"]
    titles = [button["title"] for button in replies[0]["buttons"]]
    assert TEXTS.get("th", "button.more_overtime") in titles


def test_minimum_wage_asks_for_the_province_with_buttons(stack: Stack) -> None:
    say(stack, "web-wage-en", "/start")
    asked = say(stack, "web-wage-en", "what is the minimum wage")
    assert texts_of(asked) == [TEXTS.get("en", "wage_ask_province")]
    bangkok = next(
        b for b in asked[0]["buttons"] if b["title"] == TEXTS.get("en", "province.bangkok")
    )
    answer = say(stack, "web-wage-en", bangkok["payload"])
    assert "400" in answer[0]["text"] and "July 1, 2025" in answer[0]["text"]
    overtime = next(b for b in answer[0]["buttons"] if "overtime" in b["payload"])
    assert texts_of(say(stack, "web-wage-en", overtime["payload"])) == [
        TEXTS.get("en", "wage_overtime")
    ]


def test_rights_questions_get_their_sourced_answer(stack: Stack) -> None:
    assert texts_of(say(stack, "web-fish", "on the fishing boat how many hours rest")) == [
        TEXTS.get("en", "fishing_rights")
    ]
    assert texts_of(say(stack, "web-docs-km", "ធ្វើដូចម្តេចដើម្បីបន្តប័ណ្ណការងារ")) == [
        TEXTS.get("km", "documents")
    ]
