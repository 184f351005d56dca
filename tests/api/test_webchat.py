"""The web chat endpoint on its own: the engine is down in these tests.

With no engine the worker must still get a reply in their language with the
hotline numbers, and everything they sent must be stored.
"""

from fastapi.testclient import TestClient

from bot.texts import Texts
from core.settings import Settings
from tests.support import ChatWorker, rows, stored_conversation, stored_messages


def test_engine_down_still_answers_with_the_numbers_in_the_workers_language(
    client: TestClient, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    worker = ChatWorker(client)
    response = worker.post("လခ မရသေးဘူး")
    assert response.status_code == 200
    replies = response.json()["replies"]
    assert replies == [{"text": texts.get("my", "engine_unavailable"), "buttons": []}]
    assert "1300" in replies[0]["text"]

    stored = stored_messages(settings.hotline_database_url, worker.channel_user_id)
    assert [(m["direction"], m["status"]) for m in stored] == [
        ("inbound", "engine_unavailable"),
        ("outbound", "sent"),
    ]
    assert stored[0]["original_text"] == "လခ မရသေးဘူး"
    assert stored[0]["language"] == "my"


def test_empty_text_is_refused_clearly_and_nothing_is_stored(
    client: TestClient, settings: Settings
) -> None:
    worker = ChatWorker(client)
    for text in ("", "   ", "\n"):
        response = worker.post(text)
        assert response.status_code == 422
        assert "text" in response.text
    # Nobody was made: no cookie, and nothing stored at all.
    assert worker.token is None
    assert stored_messages_of_everyone(settings) == []


def test_a_long_text_is_stored_whole_and_answered(client: TestClient, settings: Settings) -> None:
    text = "ค่าแรง" * 4000  # 24,000 characters
    worker = ChatWorker(client)
    response = worker.post(text)
    assert response.status_code == 200
    assert response.json()["replies"]
    stored = stored_messages(settings.hotline_database_url, worker.channel_user_id)
    assert stored[0]["original_text"] == text
    assert len(stored[0]["text"]) == len(text)


def test_text_over_the_limit_is_refused(client: TestClient) -> None:
    response = ChatWorker(client).post("a" * 50_001)
    assert response.status_code == 422


def test_body_over_the_size_limit_is_refused_before_parsing(client: TestClient) -> None:
    body = b'{"text": "' + b"a" * 1_100_000 + b'"}'
    response = client.post(
        "/webchat/messages", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_invalid_json_and_wrong_shapes_get_a_4xx_not_a_500(client: TestClient) -> None:
    cases = [
        (b"{not json", "application/json"),
        (b'{"text": "w"', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"text=hi", "application/x-www-form-urlencoded"),
        (b'{"sender_id": "w"}', "application/json"),
        (b'{"text": 5}', "application/json"),
        (b'{"text": null}', "application/json"),
        (b"[]", "application/json"),
    ]
    for body, content_type in cases:
        response = client.post(
            "/webchat/messages", content=body, headers={"content-type": content_type}
        )
        assert 400 <= response.status_code < 500, (body, response.status_code)


def test_a_sender_id_is_ignored_not_refused(client: TestClient, settings: Settings) -> None:
    # Pages and clients made before the cookie send one, of any shape.
    for sender_id in ("never-seen-before", "../../etc", "", 5, None):
        worker = ChatWorker(client)
        response = worker.post("hello", sender_id=sender_id)
        assert response.status_code == 200, sender_id
        assert len(stored_messages(settings.hotline_database_url, worker.channel_user_id)) == 2
    assert stored_messages(settings.hotline_database_url, "never-seen-before") == []


def test_health_says_which_part_is_down(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "engine": "unavailable",
    }


def test_chat_page_is_served_with_a_strict_policy(client: TestClient) -> None:
    response = client.get("/chat", headers={"accept-language": "th-TH,th;q=0.9"})
    assert response.status_code == 200
    assert '<html lang="th">' in response.text
    assert "สายด่วนแรงงานข้ามชาติ" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert client.get("/chat/static/chat.js").status_code == 200


def test_danger_words_bring_the_emergency_numbers_first(
    client: TestClient, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    for sender, text, language in (
        ("w-danger-th", "ช่วยด้วย นายจ้างกำลังทำร้าย", "th"),
        ("w-danger-my", "ကယ်ကြပါ သူဌေးက ရိုက်နေတယ်", "my"),
        ("w-danger-en", "pls save me they are beating me", "en"),
    ):
        worker = ChatWorker(client)
        replies = worker.say(text)
        assert replies[0]["text"] == texts.get(language, "emergency"), sender
        # Then the worker waits for staff, first in the queue: the bot does
        # not go on as if nothing happened.
        assert all(r["text"] != texts.get(language, "engine_unavailable") for r in replies)
        conversation = stored_conversation(settings.hotline_database_url, worker.channel_user_id)
        assert (conversation["owner"], conversation["escalation_reason"]) == (
            "queued",
            "emergency",
        )


def test_ordinary_messages_do_not_raise_the_alarm(client: TestClient, settings: Settings) -> None:
    texts = Texts(settings.hotline_locales_dir)
    worker = ChatWorker(client)
    for text in ("can you help me with my passport", "ขอเบอร์โทรหน่อย", "sosial security card"):
        replies = worker.say(text)
        assert all(reply["text"] != texts.get("en", "emergency") for reply in replies)


def stored_messages_of_everyone(settings: Settings) -> list[tuple[object, ...]]:
    return rows(settings.hotline_database_url, "SELECT id FROM messages")
