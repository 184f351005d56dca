"""The web chat endpoint on its own: the engine is down in these tests.

With no engine the worker must still get a reply in their language with the
hotline numbers, and everything they sent must be stored.
"""

from fastapi.testclient import TestClient

from api.settings import Settings
from bot.texts import Texts
from tests.support import stored_conversation, stored_messages


def post(client: TestClient, sender: str, text: str):  # type: ignore[no-untyped-def]
    return client.post("/webchat/messages", json={"sender_id": sender, "text": text})


def test_engine_down_still_answers_with_the_numbers_in_the_workers_language(
    client: TestClient, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    response = post(client, "w-my", "လခ မရသေးဘူး")
    assert response.status_code == 200
    replies = response.json()["replies"]
    assert replies == [{"text": texts.get("my", "engine_unavailable"), "buttons": []}]
    assert "1300" in replies[0]["text"]

    stored = stored_messages(settings.hotline_database_url, "w-my")
    assert [(m["direction"], m["status"]) for m in stored] == [
        ("inbound", "engine_unavailable"),
        ("outbound", "sent"),
    ]
    assert stored[0]["original_text"] == "လခ မရသေးဘူး"
    assert stored[0]["language"] == "my"


def test_empty_text_is_refused_clearly_and_nothing_is_stored(
    client: TestClient, settings: Settings
) -> None:
    for text in ("", "   ", "\n"):
        response = post(client, "w-empty", text)
        assert response.status_code == 422
        assert "text" in response.text
    assert stored_messages(settings.hotline_database_url, "w-empty") == []


def test_a_long_text_is_stored_whole_and_answered(client: TestClient, settings: Settings) -> None:
    text = "ค่าแรง" * 4000  # 24,000 characters
    response = post(client, "w-long", text)
    assert response.status_code == 200
    assert response.json()["replies"]
    stored = stored_messages(settings.hotline_database_url, "w-long")
    assert stored[0]["original_text"] == text
    assert len(stored[0]["text"]) == len(text)


def test_text_over_the_limit_is_refused(client: TestClient) -> None:
    response = post(client, "w-huge", "a" * 50_001)
    assert response.status_code == 422


def test_body_over_the_size_limit_is_refused_before_parsing(client: TestClient) -> None:
    body = b'{"sender_id": "w", "text": "' + b"a" * 1_100_000 + b'"}'
    response = client.post(
        "/webchat/messages", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_invalid_json_and_wrong_shapes_get_a_4xx_not_a_500(client: TestClient) -> None:
    cases = [
        (b"{not json", "application/json"),
        (b'{"sender_id": "w"', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"sender_id=w&text=hi", "application/x-www-form-urlencoded"),
        (b'{"text": "hi"}', "application/json"),
        (b'{"sender_id": "w", "text": 5}', "application/json"),
        (b'{"sender_id": "../../etc", "text": "hi"}', "application/json"),
        (b'{"sender_id": "", "text": "hi"}', "application/json"),
        (b"[]", "application/json"),
    ]
    for body, content_type in cases:
        response = client.post(
            "/webchat/messages", content=body, headers={"content-type": content_type}
        )
        assert 400 <= response.status_code < 500, (body, response.status_code)


def test_an_unknown_sender_is_a_new_worker(client: TestClient, settings: Settings) -> None:
    response = post(client, "never-seen-before", "hello")
    assert response.status_code == 200
    assert len(stored_messages(settings.hotline_database_url, "never-seen-before")) == 2


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
        replies = post(client, sender, text).json()["replies"]
        assert replies[0]["text"] == texts.get(language, "emergency"), sender
        # Then the worker waits for staff, first in the queue: the bot does
        # not go on as if nothing happened.
        assert all(r["text"] != texts.get(language, "engine_unavailable") for r in replies)
        conversation = stored_conversation(settings.hotline_database_url, sender)
        assert (conversation["owner"], conversation["escalation_reason"]) == (
            "queued",
            "emergency",
        )


def test_ordinary_messages_do_not_raise_the_alarm(client: TestClient, settings: Settings) -> None:
    texts = Texts(settings.hotline_locales_dir)
    for text in ("can you help me with my passport", "ขอเบอร์โทรหน่อย", "sosial security card"):
        replies = post(client, "w-calm", text).json()["replies"]
        assert all(reply["text"] != texts.get("en", "emergency") for reply in replies)
