"""LINE webhook and delivery against the stand-in LINE API (engine down).

With no engine every text gets the hotline numbers; that is enough to see
verification, storage, deduplication, the reply token, push with retry keys,
retries, splitting, media and the other event types.
"""

import asyncio
import json
import sqlite3
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.app import create_app
from bot.texts import Texts
from core.database import sync_url
from core.settings import Settings
from core.sqlite_driver import BUSY_MILLISECONDS
from tests.fakes.line_api import (
    FakeLine,
    event,
    in_group,
    join_event,
    sign,
    text_event,
    webhook_body,
)
from tests.support import (
    TEST_ENCRYPTION_KEY,
    TEST_VAULT,
    eventually,
    rows,
    stored_conversation,
    stored_from_inbox,
    stored_messages,
)


def post_events(client: TestClient, *events: dict[str, Any], signature: str | None = None):  # type: ignore[no-untyped-def]
    body = webhook_body(*events)
    headers = {"content-type": "application/json", "x-line-signature": signature or sign(body)}
    return client.post("/webhooks/line", content=body, headers=headers)


def reply_tokens_kept(database_url: str) -> list[tuple[object, ...]]:
    return rows(database_url, "SELECT id FROM messages WHERE reply_token IS NOT NULL")


def test_a_text_is_stored_and_answered_with_the_reply_token(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    response = post_events(client, text_event("U-my", "လခ မရသေးဘူး"))
    assert response.status_code == 200
    [reply] = line_api.wait_for("/message/reply")
    assert [m["text"] for m in reply.body["messages"]] == [texts.get("my", "engine_unavailable")]
    eventually(
        lambda: stored_messages(settings.hotline_database_url, "U-my")[-1]["status"] == "sent"
    )
    stored = stored_messages(settings.hotline_database_url, "U-my")
    assert stored[0]["direction"] == "inbound" and stored[0]["original_text"] == "လခ မရသေးဘူး"
    # A reply token is used once: it is not kept after its reply went out.
    assert not reply_tokens_kept(settings.hotline_database_url)


def test_forged_or_missing_signatures_are_refused_and_nothing_is_stored(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    forged = sign(b"something else")
    assert post_events(client, text_event("U-forged", "hi"), signature=forged).status_code == 401
    body = webhook_body(text_event("U-forged", "hi"))
    missing = client.post("/webhooks/line", content=body)
    assert missing.status_code == 401
    other_secret = sign(body, "not-the-secret")
    response = client.post(
        "/webhooks/line", content=body, headers={"x-line-signature": other_secret}
    )
    assert response.status_code == 401
    assert stored_messages(settings.hotline_database_url, "U-forged") == []
    assert list(settings.hotline_inbox_dir.iterdir()) == []
    assert line_api.requests == []


def test_malformed_but_signed_bodies_get_400(client: TestClient) -> None:
    for body in (b"{not json", b'{"destination": "x"}', b"\xff\xfe"):
        response = client.post(
            "/webhooks/line", content=body, headers={"x-line-signature": sign(body)}
        )
        assert response.status_code == 400, body


def test_redelivered_events_are_dropped(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    first = text_event("U-dup", "hello", event_id="01HOTLINEDUPLICATE0000001")
    again = {**first, "deliveryContext": {"isRedelivery": True}}
    assert post_events(client, first).status_code == 200
    line_api.wait_for("/message/reply")
    assert post_events(client, again).status_code == 200
    assert post_events(client, first).status_code == 200
    eventually(
        lambda: stored_messages(settings.hotline_database_url, "U-dup")[-1]["status"] == "sent"
    )
    inbound = [
        m
        for m in stored_messages(settings.hotline_database_url, "U-dup")
        if m["direction"] == "inbound"
    ]
    assert len(inbound) == 1
    assert len(line_api.calls("/message/reply")) + len(line_api.calls("/message/push")) == 1


def test_an_expired_reply_token_falls_back_to_push_with_a_retry_key(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    line_api.fail("/message/reply", 400, body={"message": "Invalid reply token"})
    post_events(client, text_event("U-push", "hello"))
    [push] = line_api.wait_for("/message/push")
    assert push.body["to"] == "U-push"
    uuid.UUID(push.headers["x-line-retry-key"])
    # The refused token is not tried again.
    eventually(lambda: not reply_tokens_kept(settings.hotline_database_url))


def test_push_retries_on_500_and_429_with_the_same_retry_key(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    line_api.fail("/message/reply", 400)
    line_api.fail("/message/push", 500)
    line_api.fail("/message/push", 429, headers={"Retry-After": "0"})
    post_events(client, text_event("U-retry", "hello"))
    pushes = line_api.wait_for("/message/push", 3)
    keys = {call.headers["x-line-retry-key"] for call in pushes}
    assert len(keys) == 1
    eventually(
        lambda: stored_messages(settings.hotline_database_url, "U-retry")[-1]["status"] == "sent"
    )


def test_a_reply_that_keeps_failing_is_marked_failed(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    line_api.fail("/message/reply", 400)
    line_api.fail("/message/push", 503, times=10)
    post_events(client, text_event("U-fail", "hello"))
    line_api.wait_for("/message/push", settings.hotline_delivery_attempts)
    eventually(
        lambda: stored_messages(settings.hotline_database_url, "U-fail")[-1]["status"] == "failed"
    )


def test_buttons_become_quick_replies_within_line_limits(
    client: TestClient, line_api: FakeLine
) -> None:
    # A follow event opens the chat; with the engine down the worker still
    # gets an answer. The engine's buttons are checked with the real engine.
    follow = event("follow", "U-follow", replyToken="rt-follow", follow={"isUnblocked": False})
    post_events(client, follow)
    [reply] = line_api.wait_for("/message/reply")
    assert reply.body["replyToken"] == "rt-follow"


def test_image_is_downloaded_at_once_stored_with_its_hash_and_acknowledged(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    import hashlib

    content = b"\x89PNG fake photo of a payslip"
    line_api.contents["m-photo"] = (content, "image/png")
    photo = event(
        "message",
        "U-photo",
        replyToken="rt-photo",
        message={
            "type": "image",
            "id": "m-photo",
            "quoteToken": "q",
            "contentProvider": {"type": "line"},
        },
    )
    post_events(client, photo)
    [reply] = line_api.wait_for("/message/reply")
    texts = Texts(settings.hotline_locales_dir)
    assert reply.body["messages"][0]["text"] == texts.get("en", "attachment_received")
    from sqlalchemy import create_engine, text

    engine = create_engine(sync_url(settings.hotline_database_url))
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT content_type, size, sha256, storage_key FROM attachments")
        ).one()
    engine.dispose()
    assert row.content_type == "image/png"
    assert row.size == len(content)
    # The hash that shows the evidence unchanged is kept encrypted, and the
    # file is named by a keyed hash: neither lets a backup's holder test
    # whether a file they know was sent.
    plain_hash = hashlib.sha256(content).hexdigest()
    assert row.sha256 != plain_hash and TEST_VAULT.decrypt_text(row.sha256) == plain_hash
    assert plain_hash not in row.storage_key
    assert row.storage_key.endswith(TEST_VAULT.name_for(content))
    on_disk = (settings.hotline_attachments_dir / row.storage_key).read_bytes()
    assert content not in on_disk  # encrypted at rest
    assert TEST_VAULT.decrypt(on_disk) == content


def test_location_is_kept_on_the_conversation(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    location = event(
        "message",
        "U-where",
        replyToken="rt-where",
        message={
            "type": "location",
            "id": "m-loc",
            "title": "Pier",
            "address": "Mahachai",
            "latitude": 13.547,
            "longitude": 100.274,
        },
    )
    post_events(client, location)
    line_api.wait_for("/message/reply")
    from sqlalchemy import create_engine, text

    engine = create_engine(sync_url(settings.hotline_database_url))
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT location FROM conversations")).scalar_one()
    engine.dispose()
    assert "Mahachai" not in stored  # encrypted at rest
    location_value = json.loads(TEST_VAULT.decrypt_text(stored))
    assert location_value["latitude"] == 13.547


def test_sticker_gets_a_kind_reply_and_unfollow_sends_nothing(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    sticker = event(
        "message",
        "U-sticker",
        replyToken="rt-sticker",
        message={
            "type": "sticker",
            "id": "m-s",
            "packageId": "1",
            "stickerId": "1",
            "quoteToken": "q",
            "stickerResourceType": "STATIC",
        },
    )
    post_events(client, sticker)
    [reply] = line_api.wait_for("/message/reply")
    assert reply.body["messages"][0]["text"] == texts.get("en", "unsupported_message")

    line_api.reset()
    post_events(client, event("unfollow", "U-sticker"))
    eventually(
        lambda: (
            stored_messages(settings.hotline_database_url, "U-sticker")[-1]["status"] == "answered"
        )
    )
    assert line_api.calls("/message/reply") == [] and line_api.calls("/message/push") == []


ADD_FRIEND_URL = "https://line.me/R/ti/p/@hotline-test"


def nothing_stored(settings: Settings) -> bool:
    """No worker, conversation or message in the database, no inbox file."""
    url = settings.hotline_database_url
    tables = ("workers", "conversations", "messages")
    return (
        all(rows(url, f"SELECT id FROM {table}") == [] for table in tables)
        and list(settings.hotline_inbox_dir.iterdir()) == []
    )


def group_notice(settings: Settings, link: str | None) -> str:
    texts = Texts(settings.hotline_locales_dir)
    parts = [texts.get("th", "group_not_supported"), texts.get("en", "group_not_supported")]
    return "\n\n".join([*parts, link] if link else parts)


@pytest.mark.parametrize("kind", ["group", "room"])
def test_added_to_a_group_or_room_the_bot_says_once_in_thai_and_english_and_leaves(
    line_api: FakeLine, settings: Settings, kind: str
) -> None:
    with_link = settings.model_copy(update={"line_add_friend_url": ADD_FRIEND_URL})
    with TestClient(create_app(with_link)) as client:
        joined = join_event("C-crew", kind, replyToken="rt-join")
        assert post_events(client, joined).status_code == 200
        # Nothing of the group was written, not even to the inbox.
        assert nothing_stored(settings)
        [leave] = line_api.wait_for(f"/v2/bot/{kind}/C-crew/leave")
        [reply] = line_api.calls("/message/reply")
        assert reply.body["replyToken"] == "rt-join"
        assert [m["text"] for m in reply.body["messages"]] == [
            group_notice(settings, ADD_FRIEND_URL)
        ]
        assert line_api.requests.index(reply) < line_api.requests.index(leave)
        # LINE delivers the join again: said once only.
        post_events(client, {**joined, "deliveryContext": {"isRedelivery": True}})
        post_events(client, in_group(text_event("U-member", "hello?"), "C-crew", kind))
        line_api.wait_for(f"/v2/bot/{kind}/C-crew/leave", 2)
        stored_from_inbox(client)
    assert len(line_api.calls("/message/reply")) == 1
    assert line_api.calls("/message/push") == []
    assert nothing_stored(settings)


def test_the_notice_is_pushed_when_the_reply_token_is_refused(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    line_api.fail("/message/reply", 400, body={"message": "Invalid reply token"})
    post_events(client, join_event("C-late"))
    line_api.wait_for("/v2/bot/group/C-late/leave")
    [push] = line_api.calls("/message/push")
    assert push.body["to"] == "C-late"
    # Without an add-friend link the notice goes without one.
    assert [m["text"] for m in push.body["messages"]] == [group_notice(settings, None)]


@pytest.mark.parametrize("kind", ["group", "room"])
def test_what_still_comes_from_a_group_is_not_answered_nor_kept_and_the_bot_leaves(
    client: TestClient, line_api: FakeLine, settings: Settings, kind: str
) -> None:
    said = in_group(text_event("U-in-group", "my boss keeps my passport"), "C-old", kind)
    pressed = in_group(
        event("postback", "U-in-group", replyToken="rt-pb", postback={"data": "/ask_wage"}),
        "C-old",
        kind,
    )
    assert post_events(client, said, pressed).status_code == 200
    assert list(settings.hotline_inbox_dir.iterdir()) == []
    # Both events show the bot is still there: it leaves once per delivery.
    [leave] = line_api.wait_for(f"/v2/bot/{kind}/C-old/leave")
    assert leave.method == "POST"
    stored_from_inbox(client)
    assert nothing_stored(settings)
    assert line_api.calls("/message/reply") == [] and line_api.calls("/message/push") == []


def test_a_failed_leave_is_tried_again_at_the_next_message(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    line_api.fail("/leave", 500)
    post_events(client, in_group(text_event("U-a", "hi"), "C-stuck"))
    line_api.wait_for("/v2/bot/group/C-stuck/leave")
    post_events(client, in_group(text_event("U-b", "anyone?"), "C-stuck"))
    line_api.wait_for("/v2/bot/group/C-stuck/leave", 2)
    stored_from_inbox(client)
    assert nothing_stored(settings)
    assert line_api.calls("/message/reply") == []


def test_a_private_chat_beside_a_group_event_is_answered_as_ever(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    members_joined = in_group(
        event(
            "memberJoined",
            "",
            replyToken="rt-mj",
            joined={"members": [{"type": "user", "userId": "U-new"}]},
        ),
        "C-mixed",
    )
    post_events(
        client,
        members_joined,
        in_group(text_event("U-both", "in the group"), "C-mixed"),
        text_event("U-both", "hello alone"),
    )
    [reply] = line_api.wait_for("/message/reply")
    assert [m["text"] for m in reply.body["messages"]] == [texts.get("en", "engine_unavailable")]
    line_api.wait_for("/v2/bot/group/C-mixed/leave")
    stored_from_inbox(client)
    inbound = [
        m["original_text"]
        for m in stored_messages(settings.hotline_database_url, "U-both")
        if m["direction"] == "inbound"
    ]
    assert inbound == ["hello alone"]
    assert rows(settings.hotline_database_url, "SELECT channel_user_id FROM workers") == [
        ("U-both",)
    ]


def test_line_is_off_without_credentials(database_url: str) -> None:
    from api.app import create_app

    bare_settings = Settings(
        hotline_database_url=database_url, hotline_encryption_keys=TEST_ENCRYPTION_KEY
    )
    with TestClient(create_app(bare_settings)) as bare:
        body = webhook_body(text_event("U", "hi"))
        response = bare.post(
            "/webhooks/line", content=body, headers={"x-line-signature": sign(body)}
        )
        assert response.status_code == 404


def test_a_message_the_sdk_cannot_read_is_still_kept(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    # A text event missing a field the SDK insists on (quoteToken).
    odd = event(
        "message",
        "U-odd",
        replyToken="rt-odd",
        message={"type": "text", "id": "m-odd", "text": "help my passport"},
    )
    assert post_events(client, odd).status_code == 200
    line_api.wait_for("/message/reply")
    stored = stored_messages(settings.hotline_database_url, "U-odd")
    assert stored[0]["original_text"] == "help my passport"


async def test_long_replies_are_split_for_line() -> None:
    from bot.channels.base import OutboundMessage
    from bot.channels.line import LineChannel
    from bot.splitting import utf16_units

    line = LineChannel(channel_secret="s", access_token="t", api_base_url="http://127.0.0.1:9")
    text = ("ကျေးဇူးပြု၍ ဒီစာကို ဖတ်ပါ။ " * 400) + "😀" * 100
    buttons = [
        {"title": f"Topic number {n} with a long title", "payload": f"/x{n}"} for n in range(20)
    ]
    parts = line._platform_messages(OutboundMessage(1, text, buttons, "key"))
    assert len(parts) > 1
    assert all(utf16_units(part["text"]) <= 5000 for part in parts)
    assert "quickReply" not in parts[0] and "quickReply" in parts[-1]
    items = parts[-1]["quickReply"]["items"]
    assert len(items) == 13
    assert all(len(item["action"]["label"]) <= 20 for item in items)
    assert items[0]["action"]["displayText"] == "Topic number 0 with a long title"
    await line.close()


def test_a_slow_platform_still_gets_every_reply_in_order(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    line_api.fail("/message/reply", 0, times=2, delay=1.5)
    first, second = text_event("U-slow", "hello"), text_event("U-slow", "bye")
    post_events(client, first)
    post_events(client, second)
    replies = line_api.wait_for("/message/reply", 2)
    assert [r.body["replyToken"] for r in replies] == [first["replyToken"], second["replyToken"]]

    def outbound_statuses() -> list[str]:
        stored = stored_messages(settings.hotline_database_url, "U-slow")
        return [m["status"] for m in stored if m["direction"] == "outbound"]

    eventually(lambda: outbound_statuses() == ["sent", "sent"])


def test_danger_words_send_the_emergency_numbers_at_once(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    post_events(client, text_event("U-sos", "ช่วยด้วย กำลังโดนตี"))
    [reply] = line_api.wait_for("/message/reply")
    # The urgent reply goes first, on its own, with the free reply token.
    assert [m["text"] for m in reply.body["messages"]] == [texts.get("th", "emergency")]
    # Then the worker waits for staff (first in the queue), told so by push.
    [push] = line_api.wait_for("/message/push")
    assert push.body["messages"][0]["text"] != texts.get("th", "engine_unavailable")
    assert stored_conversation(settings.hotline_database_url, "U-sos")["priority"] == 100


def test_a_message_right_behind_danger_words_waits_for_staff_too(
    client: TestClient, line_api: FakeLine, settings: Settings
) -> None:
    """Both in one delivery: the second is answered after the first handed the worker to staff."""
    texts = Texts(settings.hotline_locales_dir)
    post_events(
        client,
        text_event("U-sos-twice", "ช่วยด้วย กำลังโดนตี"),
        text_event("U-sos-twice", "อยู่ที่ท่าเรือ"),
    )
    eventually(
        lambda: (
            [
                m["status"]
                for m in stored_messages(settings.hotline_database_url, "U-sos-twice")
                if m["direction"] == "inbound"
            ]
            == ["for_staff", "for_staff"]
        )
    )
    # The bot did not answer the second message as if it still owned the chat.
    sent = line_api.texts("/v2/bot/message/reply") + line_api.texts("/v2/bot/message/push")
    assert texts.get("th", "engine_unavailable") not in sent


def test_a_proxy_from_the_environment_is_used_unless_the_host_is_exempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.channels.line import LineChannel

    async def proxy_for(base_url: str) -> str | None:
        channel = LineChannel(channel_secret="s", access_token="t", api_base_url=base_url)
        try:
            return channel._client.rest_client.proxy  # type: ignore[no-any-return]
        finally:
            await channel.close()

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert asyncio.run(proxy_for("https://api.line.me")) == "http://proxy.example:3128"
    assert asyncio.run(proxy_for("http://127.0.0.1:9")) is None
    monkeypatch.delenv("HTTPS_PROXY")
    assert asyncio.run(proxy_for("https://api.line.me")) is None


def test_a_reply_line_accepted_while_the_database_was_locked_is_not_sent_again(
    line_api: FakeLine, settings: Settings
) -> None:
    """Recording the send meets SQLite's lock past its timeout; the sweep must not resend."""
    database = make_url(settings.hotline_database_url).database
    if make_url(settings.hotline_database_url).get_backend_name() != "sqlite" or not database:
        pytest.skip("SQLite's write lock and busy timeout")
    sweeping = settings.model_copy(update={"hotline_delivery_sweep_seconds": 0.5})
    # LINE takes a second to accept the reply; meanwhile an administrator's
    # command takes the write lock for longer than the app waits for it.
    line_api.fail("/message/reply", 0, delay=1.0)
    with TestClient(create_app(sweeping)) as client:
        post_events(client, text_event("U-locked", "hello"))
        line_api.wait_for("/message/reply")
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        time.sleep(BUSY_MILLISECONDS / 1000 + 1.5)
        other.execute("COMMIT")
        other.close()
        eventually(
            lambda: (
                stored_messages(sweeping.hotline_database_url, "U-locked")[-1]["status"] == "sent"
            )
        )
        time.sleep(1.5)  # three sweeps
    assert len(line_api.calls("/message/reply")) == 1
    assert line_api.calls("/message/push") == []


def test_a_video_over_the_limit_is_read_no_further_and_the_worker_is_told(
    settings: Settings, line_api: FakeLine
) -> None:
    limited = settings.model_copy(update={"hotline_media_max_bytes": 1024 * 1024})
    line_api.contents["m-video"] = (b"\x00" * (3 * 1024 * 1024), "video/mp4")
    video = event(
        "message",
        "U-video",
        replyToken="rt-video",
        message={"type": "video", "id": "m-video", "duration": 60000,
                 "contentProvider": {"type": "line"}},
    )  # fmt: skip
    with TestClient(create_app(limited)) as client:
        post_events(client, video)
        [reply] = line_api.wait_for("/message/reply")
    texts = Texts(settings.hotline_locales_dir)
    expected = texts.get("en", "attachment_too_large", megabytes="1")
    assert reply.body["messages"][0]["text"] == expected
    assert rows(settings.hotline_database_url, "SELECT id FROM attachments") == []
    assert not any(settings.hotline_attachments_dir.rglob("*"))
