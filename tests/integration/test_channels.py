"""LINE and Telegram through the real engine, against their stand-in APIs."""

import httpx
import pytest

from bot.responses import choose_language_payload
from bot.texts import Texts
from core.settings import PROJECT_ROOT
from tests.fakes.line_api import FakeLine, event, text_event
from tests.fakes.telegram_api import (
    FakeTelegram,
    callback_update,
    text_update,
)
from tests.integration.workers import line_post, telegram_post
from tests.support import stored_messages
from tests.support.stack import Stack, running_stack, start_engine_process

pytestmark = pytest.mark.engine

TEXTS = Texts(PROJECT_ROOT / "locales")
PICKER = ["မြန်မာ", "ខ្មែរ", "ລາວ", "ไทย", "English"]


def test_line_worker_is_welcomed_in_burmese_with_quick_replies(
    stack: Stack, line_api: FakeLine
) -> None:
    line_post(stack, text_event("U-int-my", "မင်္ဂလာပါ"))
    [reply] = line_api.wait_for("/message/reply")
    [message] = reply.body["messages"]
    assert message["text"] == TEXTS.get("my", "welcome")
    items = message["quickReply"]["items"]
    assert [item["action"]["label"] for item in items] == PICKER
    assert items[1]["action"]["data"] == choose_language_payload("km")
    assert all(len(item["action"]["label"]) <= 20 for item in items)


def test_line_button_press_switches_to_khmer(stack: Stack, line_api: FakeLine) -> None:
    postback = event(
        "postback",
        "U-int-km",
        replyToken="rt-km",
        postback={"data": choose_language_payload("km")},
    )
    line_post(stack, postback)
    [reply] = line_api.wait_for("/message/reply")
    assert reply.body["messages"][0]["text"] == TEXTS.get("km", "language_set")


def test_telegram_start_shows_the_picker_as_an_inline_keyboard(
    stack: Stack, telegram_api: FakeTelegram
) -> None:
    telegram_post(stack, text_update(7001, 7001, "/start"))
    [sent] = telegram_api.wait_for("/sendMessage")
    assert sent.body["text"] == TEXTS.get("en", "welcome")
    keyboard = sent.body["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == PICKER
    assert keyboard[3][0]["callback_data"] == choose_language_payload("th")

    telegram_api.reset()
    telegram_post(stack, callback_update(7002, 7001, choose_language_payload("th")))
    [sent] = telegram_api.wait_for("/sendMessage")
    assert sent.body["text"] == TEXTS.get("th", "language_set")
    assert telegram_api.calls("/answerCallbackQuery")


def test_messages_of_one_worker_are_answered_in_order(
    stack: Stack, telegram_api: FakeTelegram
) -> None:
    for update_id, text in ((7101, "hello"), (7102, "what number can I call"), (7103, "bye")):
        telegram_post(stack, text_update(update_id, 7100, text))
    sent = telegram_api.wait_for("/sendMessage", 3)
    assert [call.body["text"] for call in sent] == [
        TEXTS.get("en", "welcome"),
        TEXTS.get("en", "hotlines"),
        TEXTS.get("en", "goodbye"),
    ]


def test_a_returning_worker_is_answered_in_the_language_of_each_message(
    stack: Stack, telegram_api: FakeTelegram
) -> None:
    """Each message waits for the one before, so each goes to the engine
    while it is stored; the one in another script waits for its language to
    be stored, as the engine's responses are written in the stored language."""
    said = (
        (7201, "မင်္ဂလာပါ", "my", "welcome"),
        (7202, "ခင်ဗျားတို့ ဖုန်းနံပါတ် ဘယ်လောက်လဲ", "my", "hotlines"),
        (7203, "ขอเบอร์โทรหน่อย", "th", "hotlines"),
        (7204, "ติดต่อที่ไหน", "th", "hotlines"),
    )
    for count, (update_id, text, language, text_id) in enumerate(said, start=1):
        telegram_post(stack, text_update(update_id, 7200, text))
        sent = telegram_api.wait_for("/sendMessage", count)
        assert sent[-1].body["text"] == TEXTS.get(language, text_id)
    stored = stored_messages(stack.database_url, "7200")
    assert [m["status"] for m in stored if m["direction"] == "inbound"] == ["answered"] * 4
    assert len([m for m in stored if m["direction"] == "outbound"]) == 4


def test_engine_down_gives_the_numbers_then_the_answer_once_it_is_back(
    tmp_path_factory: pytest.TempPathFactory, fake_line: FakeLine, fake_telegram: FakeTelegram
) -> None:
    from tests.conftest import channel_environment

    fake_line.reset()
    environment = channel_environment(fake_line, fake_telegram)
    workdir = tmp_path_factory.mktemp("engine-down")
    with running_stack(workdir, environment=environment, start_engine=False) as stack:
        assert httpx.get(f"{stack.app_url}/healthz").status_code == 503
        line_post(stack, text_event("U-down", "ขอเบอร์โทรสายด่วนหน่อยครับ"))
        [reply] = fake_line.wait_for("/message/reply")
        assert reply.body["messages"][0]["text"] == TEXTS.get("th", "engine_unavailable")

        start_engine_process(stack)
        # The sweep notices the engine is back and answers the stored message.
        pushes = fake_line.wait_for("/message/push", timeout=180)
        assert pushes[0].body["messages"][0]["text"] == TEXTS.get("th", "hotlines")
        statuses = [m["status"] for m in stored_messages(stack.database_url, "U-down")]
        assert statuses[0] == "answered"
