"""Telegram webhook and delivery against the stand-in Bot API (engine down)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bot.texts import Texts
from core.database import sync_url
from core.settings import Settings
from tests.fakes.telegram_api import (
    BOT_USER,
    WEBHOOK_SECRET,
    FakeTelegram,
    callback_update,
    group_text_update,
    my_chat_member_update,
    private_chat,
    text_update,
)
from tests.support import TEST_VAULT, eventually, rows, stored_from_inbox, stored_messages

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


def test_start_with_a_deep_link(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    post_update(client, text_update(60, 560, "/start from-poster-mahachai"))
    telegram_api.wait_for("/sendMessage")
    stored = stored_messages(settings.hotline_database_url, "560")
    assert stored[0]["payload"] == "from-poster-mahachai"
    # Where the worker came from is theirs: not in clear at rest.
    [(raw,)] = rows(settings.hotline_database_url, "SELECT payload FROM messages WHERE id = 1")
    assert "mahachai" not in raw


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


BOT_LINK = f"https://t.me/{BOT_USER['username']}"


def nothing_stored(settings: Settings) -> bool:
    """No worker, conversation or message in the database, no inbox file."""
    url = settings.hotline_database_url
    tables = ("workers", "conversations", "messages")
    return (
        all(rows(url, f"SELECT id FROM {table}") == [] for table in tables)
        and list(settings.hotline_inbox_dir.iterdir()) == []
    )


def group_notice(settings: Settings) -> str:
    texts = Texts(settings.hotline_locales_dir)
    thai, english = (texts.get(language, "group_not_supported") for language in ("th", "en"))
    return f"{thai}\n\n{english}\n\n{BOT_LINK}"


def post_raw(client: TestClient, update: dict[str, Any]) -> int:
    """Posted without storing the inbox after, to see that nothing was written."""
    headers = {SECRET_HEADER: WEBHOOK_SECRET}
    return client.post("/webhooks/telegram", json=update, headers=headers).status_code


@pytest.mark.parametrize(
    ("status", "kind"),
    [("member", "group"), ("administrator", "supergroup"), ("administrator", "channel")],
)
def test_added_to_a_group_the_bot_says_once_in_thai_and_english_and_leaves(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings, status: str, kind: str
) -> None:
    added = my_chat_member_update(70, -1070, new_status=status, kind=kind)
    assert post_raw(client, added) == 200
    assert nothing_stored(settings)
    [leave] = telegram_api.wait_for("/leaveChat")
    assert str(leave.body["chat_id"]) == "-1070"
    [notice] = telegram_api.calls("/sendMessage")
    assert str(notice.body["chat_id"]) == "-1070"
    assert notice.body["text"] == group_notice(settings)
    assert "reply_markup" not in notice.body
    assert telegram_api.requests.index(notice) < telegram_api.requests.index(leave)
    # Telegram delivers the update again: said once only.
    post_update(client, added)
    post_update(client, group_text_update(71, -1070, 571, "still here?", kind=kind))
    telegram_api.wait_for("/leaveChat", 2)
    assert len(telegram_api.calls("/sendMessage")) == 1
    assert nothing_stored(settings)


def test_the_service_message_of_being_added_and_my_chat_member_tell_once(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    added = group_text_update(72, -1072, 572, "")
    del added["message"]["text"]
    added["message"]["new_chat_members"] = [
        {key: BOT_USER[key] for key in ("id", "is_bot", "first_name", "username")}
    ]
    post_update(client, added)
    post_update(client, my_chat_member_update(73, -1072))
    telegram_api.wait_for("/leaveChat")
    [notice] = telegram_api.wait_for("/sendMessage")
    assert notice.body["text"] == group_notice(settings)
    assert len(telegram_api.calls("/leaveChat")) == 1
    assert nothing_stored(settings)


@pytest.mark.parametrize("kind", ["group", "supergroup"])
def test_a_group_message_is_not_answered_nor_kept_and_the_bot_leaves(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings, kind: str
) -> None:
    said = group_text_update(74, -1074, 574, "my boss keeps my passport", kind=kind)
    assert post_raw(client, said) == 200
    # Nothing of it reached the inbox, let alone the database.
    assert list(settings.hotline_inbox_dir.iterdir()) == []
    [leave] = telegram_api.wait_for("/leaveChat")
    assert str(leave.body["chat_id"]) == "-1074"
    stored_from_inbox(client)
    assert nothing_stored(settings)
    assert telegram_api.calls("/sendMessage") == []


def test_a_failed_leave_is_tried_again_and_removal_needs_nothing(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    telegram_api.fail(
        "/leaveChat", 500, body={"ok": False, "error_code": 500, "description": "Bad Gateway"}
    )
    post_update(client, group_text_update(75, -1075, 575, "hi"))
    telegram_api.wait_for("/leaveChat")
    post_update(client, group_text_update(76, -1075, 576, "hello?"))
    telegram_api.wait_for("/leaveChat", 2)
    # Removed by a member (or left): nothing to say, nothing to leave.
    post_update(client, my_chat_member_update(77, -1075, new_status="left", old_status="member"))
    post_update(client, my_chat_member_update(78, -1075, new_status="kicked", old_status="member"))
    removed = group_text_update(80, -1075, 575, "")
    del removed["message"]["text"]
    removed["message"]["left_chat_member"] = {
        key: BOT_USER[key] for key in ("id", "is_bot", "first_name", "username")
    }
    post_update(client, removed)
    post_update(client, text_update(79, 579, "hello"))  # a private chat, answered as ever
    telegram_api.wait_for("/sendMessage")
    assert len(telegram_api.calls("/leaveChat")) == 2
    assert [str(call.body["chat_id"]) for call in telegram_api.calls("/sendMessage")] == ["579"]
    assert rows(settings.hotline_database_url, "SELECT channel_user_id FROM workers") == [("579",)]


def document_update(update_id: int, chat: int, file_id: str, **document: Any) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1764000000,
            "chat": private_chat(chat),
            "document": {"file_id": file_id, "file_unique_id": f"u-{file_id}", **document},
        },
    }


def test_a_file_over_the_limit_is_not_downloaded_and_the_worker_is_told(
    settings: Settings, telegram_api: FakeTelegram
) -> None:
    limited = settings.model_copy(update={"hotline_media_max_bytes": 1024 * 1024})
    telegram_api.files["video-big"] = ("videos/file_2.mp4", b"not fetched")
    with TestClient(create_app(limited)) as client:
        post_update(client, document_update(90, 590, "video-big", file_size=80 * 1024 * 1024))
        [sent] = telegram_api.wait_for("/sendMessage")
    texts = Texts(settings.hotline_locales_dir)
    assert sent.body["text"] == texts.get("en", "attachment_too_large", megabytes="1")
    assert telegram_api.calls("/getFile") == []
    assert rows(settings.hotline_database_url, "SELECT id FROM attachments") == []
    assert not any(settings.hotline_attachments_dir.rglob("*"))


def test_a_file_whose_type_is_not_a_type_is_kept_as_a_plain_file(
    client: TestClient, telegram_api: FakeTelegram, settings: Settings
) -> None:
    telegram_api.files["odd-1"] = ("documents/file_3", b"%PDF fake contract")
    odd = "application/" + "x" * 150
    post_update(client, document_update(91, 591, "odd-1", mime_type=odd, file_size=18))
    [sent] = telegram_api.wait_for("/sendMessage")
    texts = Texts(settings.hotline_locales_dir)
    assert sent.body["text"] == texts.get("en", "attachment_received")
    [(content_type,)] = rows(settings.hotline_database_url, "SELECT content_type FROM attachments")
    assert content_type == "application/octet-stream"
