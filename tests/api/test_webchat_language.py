"""The browser's language as the web chat's first guess (engine down)."""

from typing import Any

import httpx
from fastapi.testclient import TestClient

from bot.texts import Texts
from core.settings import Settings
from tests.support import ChatWorker, scalar
from tests.support.actions import HEADERS, public_id_of


def opened(worker: ChatWorker, text: str, accept_language: str) -> list[dict[str, Any]]:
    """What the page sends (the browser adds its Accept-Language), answered."""
    response: httpx.Response = worker._call(
        "POST", json={"text": text}, headers={"Accept-Language": accept_language}
    )
    assert response.status_code == 200, response.text
    replies: list[dict[str, Any]] = response.json()["replies"]
    return replies


def welcome_for(client: TestClient, settings: Settings, worker: ChatWorker) -> str:
    sender = public_id_of(settings.hotline_database_url, worker.channel_user_id)
    body = {"response": "utter_welcome", "arguments": {}, "tracker": {"sender_id": sender}}
    return str(client.post("/nlg", json=body, headers=HEADERS).json()["text"])


def test_the_opening_is_answered_in_the_browsers_language(
    client: TestClient, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    # The page itself is Burmese for this browser ...
    page = client.get("/chat", headers={"Accept-Language": "my-MM,my;q=0.9,en;q=0.5"})
    assert 'lang="my"' in page.text
    # ... and so is the answer to its opening, and the welcome.
    worker = ChatWorker(client)
    replies = opened(worker, "/start", "my-MM,my;q=0.9,en;q=0.5")
    assert replies[0]["text"] == texts.get("my", "engine_unavailable")
    assert welcome_for(client, settings, worker) == texts.get("my", "welcome")


def test_a_browser_in_another_language_gets_the_default(
    client: TestClient, settings: Settings
) -> None:
    texts = Texts(settings.hotline_locales_dir)
    worker = ChatWorker(client)
    replies = opened(worker, "/start", "de-DE,de;q=0.9,zh;q=0.8")
    default = settings.hotline_default_language
    assert replies[0]["text"] == texts.get(default, "engine_unavailable")
    hint = "SELECT language_hint FROM workers WHERE channel_user_id = :user"
    assert scalar(settings.hotline_database_url, hint, user=worker.channel_user_id) is None


def test_the_workers_script_wins_over_the_browser(client: TestClient, settings: Settings) -> None:
    texts = Texts(settings.hotline_locales_dir)
    worker = ChatWorker(client)
    opened(worker, "/start", "th")
    replies = opened(worker, "ສະບາຍດີ", "th")
    assert replies[0]["text"] == texts.get("lo", "engine_unavailable")
    assert welcome_for(client, settings, worker) == texts.get("lo", "welcome")
