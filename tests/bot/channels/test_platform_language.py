"""The platform's language as the first guess for a new worker (engine down).

Telegram's `language_code`, a LINE profile's language: a new worker's first
answer is in it, and the welcome the engine asks for (`utter_welcome`, by
the conversation's id) is too. The worker's own script still wins.
"""

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.texts import Texts
from core.settings import Settings
from tests.fakes.line_api import FakeLine, event, sign, text_event, webhook_body
from tests.fakes.telegram_api import WEBHOOK_SECRET, FakeTelegram, callback_update, text_update
from tests.support import eventually, scalar, stored_from_inbox, stored_messages
from tests.support.actions import HEADERS, public_id_of


def telegram_post(client: TestClient, update: dict[str, Any]) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    assert client.post("/webhooks/telegram", json=update, headers=headers).status_code == 200
    stored_from_inbox(client)


def with_language(update: dict[str, Any], code: str) -> dict[str, Any]:
    for part in ("message", "callback_query"):
        if part in update:
            update[part]["from"]["language_code"] = code
    return update


def welcome_for(client: TestClient, settings: Settings, channel_user_id: str) -> str:
    """The welcome the engine gets when it greets the worker (Rasa's NLG call)."""
    sender = public_id_of(settings.hotline_database_url, channel_user_id)
    body = {"response": "utter_welcome", "arguments": {}, "tracker": {"sender_id": sender}}
    response = client.post("/nlg", json=body, headers=HEADERS)
    assert response.status_code == 200
    return str(response.json()["text"])


def last_answered_language(settings: Settings, channel_user_id: str) -> str:
    eventually(
        lambda: (
            stored_messages(settings.hotline_database_url, channel_user_id)[-1]["direction"]
            == "outbound"
        )
    )
    return str(stored_messages(settings.hotline_database_url, channel_user_id)[-1]["language"])


@pytest.mark.parametrize(
    ("code", "language"), [("th", "th"), ("my", "my"), ("my-MM", "my"), ("de", "en")]
)
def test_telegram_start_is_answered_in_the_apps_language(
    client: TestClient,
    telegram_api: FakeTelegram,
    settings: Settings,
    code: str,
    language: str,
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    chat = 8000 + len(code) * 10 + ord(code[0])
    telegram_post(client, with_language(text_update(chat, chat, "/start"), code))
    [sent] = telegram_api.wait_for("/sendMessage")
    assert sent.body["text"] == texts.get(language, "engine_unavailable")
    assert welcome_for(client, settings, str(chat)) == texts.get(language, "welcome")


def test_telegram_khmer_script_still_switches_from_the_apps_language(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    telegram_post(client, with_language(text_update(8101, 8100, "/start"), "th"))
    telegram_api.wait_for("/sendMessage")
    assert last_answered_language(settings, "8100") == "th"
    telegram_post(client, with_language(text_update(8102, 8100, "សុំជំនួយ"), "th"))
    sent = telegram_api.wait_for("/sendMessage", 2)
    assert sent[-1].body["text"] == texts.get("km", "engine_unavailable")
    assert welcome_for(client, settings, "8100") == texts.get("km", "welcome")


def test_telegram_button_press_carries_the_apps_language_too(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    telegram_post(client, with_language(callback_update(8201, 8200, "/ask_hotlines"), "lo"))
    telegram_api.wait_for("/sendMessage")
    assert last_answered_language(settings, "8200") == "lo"
    hint = "SELECT language_hint FROM workers WHERE channel_user_id = '8200'"
    assert scalar(settings.hotline_database_url, hint) == "lo"


def post_line(client: TestClient, *events: dict[str, Any]) -> float:
    """Post a webhook; how long LINE waited for its 200."""
    body = webhook_body(*events)
    headers = {"content-type": "application/json", "x-line-signature": sign(body)}
    started = time.monotonic()
    response = client.post("/webhooks/line", content=body, headers=headers)
    waited = time.monotonic() - started
    assert response.status_code == 200
    return waited


def follow(user_id: str) -> dict[str, Any]:
    return event("follow", user_id, replyToken=f"rt-{user_id}", follow={"isUnblocked": False})


def test_line_follow_is_answered_in_the_profiles_language(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    line_api.profile_languages["U-th"] = "th"
    # LINE answers the profile slowly: the webhook has its 200 long before.
    line_api.fail("/v2/bot/profile/U-th", 0, delay=1.0)
    assert post_line(client, follow("U-th")) < 0.9
    [reply] = line_api.wait_for("/message/reply")
    assert reply.body["messages"][0]["text"] == texts.get("th", "engine_unavailable")
    [asked] = line_api.calls("/v2/bot/profile/U-th")
    assert asked.method == "GET"
    assert welcome_for(client, settings, "U-th") == texts.get("th", "welcome")


def test_line_profile_is_asked_only_for_a_worker_without_a_language(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    line_api.profile_languages["U-km"] = "th"
    # Khmer script says more than the profile: nothing is asked.
    post_line(client, text_event("U-km", "សុំជំនួយ"))
    [reply] = line_api.wait_for("/message/reply")
    assert reply.body["messages"][0]["text"] == texts.get("km", "engine_unavailable")
    assert not line_api.calls("/v2/bot/profile/U-km")

    # A profile with no language the hotline speaks: the default, asked once.
    line_api.profile_languages["U-zh"] = "zh-Hant"
    post_line(client, follow("U-zh"))
    line_api.wait_for("/message/reply", 2)
    assert last_answered_language(settings, "U-zh") == settings.hotline_default_language
    post_line(client, event("postback", "U-zh", replyToken="rt-zh2", postback={"data": "/x"}))
    line_api.wait_for("/message/reply", 3)
    assert len(line_api.calls("/v2/bot/profile/U-zh")) == 1


def test_line_profile_that_fails_leaves_the_default(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    line_api.fail("/v2/bot/profile/U-down", 500)
    post_line(client, follow("U-down"))
    [reply] = line_api.wait_for("/message/reply")
    default = settings.hotline_default_language
    assert reply.body["messages"][0]["text"] == texts.get(default, "engine_unavailable")
