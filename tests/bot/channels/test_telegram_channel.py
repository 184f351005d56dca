"""Telegram webhook and delivery against the stand-in Bot API (engine down)."""

from typing import Any

from fastapi.testclient import TestClient

from bot.texts import Texts
from core.database import sync_url
from core.settings import Settings
from tests.fakes.telegram_api import (
    WEBHOOK_SECRET,
    FakeTelegram,
    callback_update,
    private_chat,
    text_update,
)
from tests.support import TEST_VAULT, eventually, stored_from_inbox, stored_messages

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def post_update(client: TestClient, update: dict[str, Any], secret: str | None = WEBHOOK_SECRET):  # type: ignore[no-untyped-def]
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = client.post("/webhooks/telegram", json=update, headers=headers)
    stored_from_inbox(client)
    return response


def test_a_text_is_stored_and_answered(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    assert post_update(client, text_update(1, 501, "សុំជំនួយ")).status_code == 200
    [sent] = telegram_api.wait_for("/sendMessage")
    assert str(sent.body["chat_id"]) == "501"
    assert sent.body["text"] == texts.get("km", "engine_unavailable")
    eventually(
        lambda: stored_messages(settings.hotline_database_url, "501")[-1]["status"] == "sent"
    )


def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    assert post_update(client, text_update(2, 502, "hi"), secret="wrong").status_code == 403
    assert post_update(client, text_update(3, 502, "hi"), secret=None).status_code == 403
    assert stored_messages(settings.hotline_database_url, "502") == []
    assert list(settings.hotline_inbox_dir.iterdir()) == []
    assert telegram_api.calls("/sendMessage") == []


def test_malformed_updates_get_400(client: TestClient) -> None:
    headers = {SECRET_HEADER: WEBHOOK_SECRET, "content-type": "application/json"}
    chat = b'"chat": {"id": 1, "type": "private"}'
    bodies = (
        b"{oops",
        b"[]",
        b'"text"',
        b'{"message": {"text": "no update id"}}',
        b'{"update_id": "seven"}',
        b'{"update_id": 1, "message": 5}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": "soon", ' + chat + b"}}",
        b'{"update_id": 1, "message": {"message_id": 1, "date": 1, ' + chat + b', "text": "a", '
        b'"entities": "x"}}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 1, ' + chat + b', "photo": [1]}}',
    )
    for body in bodies:
        response = client.post("/webhooks/telegram", content=body, headers=headers)
        assert response.status_code == 400, body


def test_a_redelivered_update_is_dropped(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    update = text_update(10, 510, "hello")
    post_update(client, update)
    telegram_api.wait_for("/sendMessage")
    post_update(client, update)
    eventually(
        lambda: stored_messages(settings.hotline_database_url, "510")[-1]["status"] == "sent"
    )
    inbound = [
        m
        for m in stored_messages(settings.hotline_database_url, "510")
        if m["direction"] == "inbound"
    ]
    assert len(inbound) == 1


def test_button_presses_are_always_answered(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    update = callback_update(20, 520, "/ask_hotlines")
    post_update(client, update)
    post_update(client, update)  # redelivered: still answered, not processed twice
    telegram_api.wait_for("/answerCallbackQuery", 2)
    telegram_api.wait_for("/sendMessage")
    stored = stored_messages(settings.hotline_database_url, "520")
    assert stored[0]["payload"] == "/ask_hotlines"
    assert len([m for m in stored if m["direction"] == "inbound"]) == 1


def test_429_waits_as_told_and_500_is_retried(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    telegram_api.fail(
        "/sendMessage",
        429,
        body={
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    telegram_api.fail(
        "/sendMessage", 500, body={"ok": False, "error_code": 500, "description": "Bad Gateway"}
    )
    post_update(client, text_update(30, 530, "hello"))
    telegram_api.wait_for("/sendMessage", 3)
    eventually(
        lambda: stored_messages(settings.hotline_database_url, "530")[-1]["status"] == "sent"
    )


def test_a_blocked_bot_marks_the_reply_failed_without_retrying(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    telegram_api.fail(
        "/sendMessage",
        403,
        body={
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot was blocked by the user",
        },
    )
    post_update(client, text_update(40, 540, "hello"))
    eventually(
        lambda: stored_messages(settings.hotline_database_url, "540")[-1]["status"] == "failed"
    )
    assert len(telegram_api.calls("/sendMessage")) == 1


def test_voice_note_is_downloaded_and_kept(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    telegram_api.files["voice-1"] = ("voice/file_1.oga", b"OggS fake voice note")
    update = {
        "update_id": 50,
        "message": {
            "message_id": 50,
            "date": 1764000000,
            "chat": private_chat(550),
            "from": {"id": 550, "is_bot": False, "first_name": "Worker"},
            "voice": {
                "file_id": "voice-1",
                "file_unique_id": "u-voice-1",
                "duration": 3,
                "mime_type": "audio/ogg",
            },
        },
    }
    post_update(client, update)
    [sent] = telegram_api.wait_for("/sendMessage")
    texts = Texts(settings.hotline_locales_dir)
    assert sent.body["text"] == texts.get("en", "attachment_received")
    from sqlalchemy import create_engine, text

    engine = create_engine(sync_url(settings.hotline_database_url))
    with engine.connect() as connection:
        row = connection.execute(text("SELECT content_type, size FROM attachments")).one()
    engine.dispose()
    assert row.content_type == "audio/ogg" and row.size == len(b"OggS fake voice note")


def test_start_with_a_deep_link_and_group_messages(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    post_update(client, text_update(60, 560, "/start from-poster-mahachai"))
    telegram_api.wait_for("/sendMessage")
    stored = stored_messages(settings.hotline_database_url, "560")
    assert stored[0]["payload"] == "from-poster-mahachai"

    group = text_update(61, -100, "hello")
    group["message"]["chat"] = {"id": -100, "type": "group", "title": "boat crew"}
    assert post_update(client, group).status_code == 200
    assert stored_messages(settings.hotline_database_url, "-100") == []


def test_photo_and_location_are_kept(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    telegram_api.files["photo-big"] = ("photos/file_9.jpg", b"\xff\xd8 fake payslip photo")
    base = {"date": 1764000000, "chat": private_chat(580)}
    photo = {
        "update_id": 80,
        "message": {
            "message_id": 80,
            **base,
            "caption": "my payslip",
            "photo": [
                {"file_id": "photo-small", "file_unique_id": "s", "width": 90, "height": 90},
                {"file_id": "photo-big", "file_unique_id": "b", "width": 1280, "height": 960},
            ],
        },
    }
    location = {
        "update_id": 81,
        "message": {"message_id": 81, **base, "location": {"latitude": 9.96, "longitude": 98.6}},
    }
    post_update(client, photo)
    post_update(client, location)
    telegram_api.wait_for("/sendMessage", 2)
    # The largest size of the photo is the one fetched.
    [get_file] = telegram_api.calls("/getFile")
    assert get_file.body["file_id"] == "photo-big"
    from sqlalchemy import create_engine, text

    engine = create_engine(sync_url(settings.hotline_database_url))
    with engine.connect() as connection:
        size = connection.execute(text("SELECT size FROM attachments")).scalar_one()
        stored_location = connection.execute(
            text("SELECT location FROM conversations")
        ).scalar_one()
    engine.dispose()
    assert size == len(b"\xff\xd8 fake payslip photo")
    import json

    value = json.loads(TEST_VAULT.decrypt_text(stored_location))
    assert value["latitude"] == 9.96
    stored = stored_messages(settings.hotline_database_url, "580")
    assert stored[0]["original_text"] == "my payslip"
