"""`hotline telegram set-webhook` and `hotline telegram poll` (same pipeline)."""

import os

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from bot.leases import NotLeading
from core.settings import Settings, get_settings
from tests.fakes.telegram_api import (
    BOT_TOKEN,
    WEBHOOK_SECRET,
    FakeTelegram,
    my_chat_member_update,
    text_update,
)
from tests.support import eventually, rows, stored_messages


def test_set_webhook_registers_the_url_with_the_secret(
    telegram_api: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram_api.url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["telegram", "set-webhook", "https://hotline.example.org/webhooks/telegram"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    [call] = telegram_api.calls("/setWebhook")
    assert call.body["url"] == "https://hotline.example.org/webhooks/telegram"
    assert call.body["secret_token"] == WEBHOOK_SECRET
    # Telegram sends only the kinds listed: being added to a group is one.
    assert set(call.body["allowed_updates"]) == {"message", "callback_query", "my_chat_member"}


def test_polling_feeds_the_same_pipeline(settings: Settings, telegram_api: FakeTelegram) -> None:
    telegram_api.updates.append(text_update(900, 901, "hello by polling"))
    with TestClient(create_app(settings, telegram_polling=True)):
        telegram_api.wait_for("/sendMessage")
        eventually(
            lambda: stored_messages(settings.hotline_database_url, "901")[-1]["status"] == "sent"
        )
    stored = stored_messages(settings.hotline_database_url, "901")
    assert stored[0]["original_text"] == "hello by polling"
    assert len([m for m in stored if m["direction"] == "inbound"]) == 1


def test_polling_asks_for_group_membership_and_leaves_groups(
    settings: Settings, telegram_api: FakeTelegram
) -> None:
    telegram_api.updates.append(my_chat_member_update(910, -910))
    with TestClient(create_app(settings, telegram_polling=True)):
        [leave] = telegram_api.wait_for("/leaveChat")
    assert str(leave.body["chat_id"]) == "-910"
    [notice] = telegram_api.calls("/sendMessage")
    assert str(notice.body["chat_id"]) == "-910"
    polls = telegram_api.calls("/getUpdates")
    assert "my_chat_member" in polls[0].body["allowed_updates"]
    assert rows(settings.hotline_database_url, "SELECT id FROM workers") == []


@pytest.mark.skipif(
    not os.environ.get("HOTLINE_TEST_POSTGRES_URL"),
    reason="several app processes share PostgreSQL; the embedded default runs one",
)
def test_a_second_process_refuses_to_poll_telegram_beside_the_first(
    settings: Settings, telegram_api: FakeTelegram
) -> None:
    # Telegram would hand each update to one of the two at random.
    with (
        TestClient(create_app(settings, telegram_polling=True)),
        pytest.raises(NotLeading, match="another app process polls Telegram"),
        TestClient(create_app(settings, telegram_polling=True)),
    ):
        pass
    # Stopped, the first lets go: the next process polls at once.
    with TestClient(create_app(settings, telegram_polling=True)):
        pass
