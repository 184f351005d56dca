"""The web chat knows a worker by a cookie the hotline chose, and by nothing else.

A worker's id used to be chosen by their page and sent in the body and, on
every poll, in the URL, where access logs kept it: whoever had it read the
staff's replies (which then never reached the worker) and wrote as them.
The engine is down in these tests; staff answer through the handoff API.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import httpx
from fastapi.testclient import TestClient

from api import webchat
from api.app import create_app
from bot.staff.models import Role
from core.settings import Settings
from tests.support import ChatWorker, rows, stored_messages
from tests.support.console import add_staff, state_of


def set_cookie_of(response: httpx.Response) -> dict[str, str]:
    """The identity cookie's attributes as the response set them (lower-case names)."""
    [header] = [
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith(f"{webchat.COOKIE}=")
    ]
    morsel = SimpleCookie(header)[webchat.COOKIE]
    attributes = {key: str(value) for key, value in morsel.items() if value}
    flags = {part.strip().lower() for part in header.split(";")}
    return {
        "value": morsel.value,
        **attributes,
        "httponly": str("httponly" in flags),
        "secure": str("secure" in flags),
    }


def staff_reply(client: TestClient, text: str) -> None:
    """An agent claims the first worker in the queue and answers them."""
    add_staff(client, "mya", Role.AGENT)

    async def issue() -> str:
        return await state_of(client).accounts.create_api_token(username="mya", name="tests")

    headers = {"Authorization": f"Bearer {client.portal.call(issue)}"}
    [waiting] = client.get("/api/handoff/queue", headers=headers).json()
    base = f"/api/handoff/conversations/{waiting['conversation_id']}"
    assert client.post(f"{base}/claim", headers=headers).status_code == 204
    assert client.post(f"{base}/replies", json={"text": text}, headers=headers).status_code == 201


def test_the_first_message_sets_a_cookie_the_hotline_chose(
    client: TestClient, settings: Settings
) -> None:
    worker = ChatWorker(client)
    response = worker.post("/start", sender_id="web-chosen-by-the-page")
    assert response.status_code == 200
    cookie = set_cookie_of(response)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie["value"])  # 256 random bits
    assert cookie["httponly"] == "True"
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/"
    assert cookie["secure"] == "False"  # development: the page is on plain http
    assert int(cookie["max-age"]) == settings.hotline_retention_conversation_days * 24 * 3600
    assert response.headers["cache-control"] == "no-store"

    # Later messages are the same worker, by the cookie alone.
    worker.say("hello")
    assert len(stored_messages(settings.hotline_database_url, worker.channel_user_id)) == 4
    # Another browser is another worker, with another cookie.
    other = ChatWorker(client)
    other.say("hello")
    assert other.token != worker.token
    # The database keeps neither cookie nor the id the page chose: only hashes.
    ids = [
        row[0] for row in rows(settings.hotline_database_url, "SELECT channel_user_id FROM workers")
    ]
    assert sorted(ids) == sorted([worker.channel_user_id, other.channel_user_id])
    assert worker.token not in str(ids) and "web-chosen-by-the-page" not in str(ids)


def test_in_production_the_cookie_is_secure(settings: Settings) -> None:
    production = settings.model_copy(update={"hotline_environment": "production"})
    with TestClient(create_app(production), base_url="https://hotline.example") as client:
        response = client.post("/webchat/messages", json={"text": "/start", "sender_id": "w"})
        assert response.status_code == 200
        cookie = set_cookie_of(response)
        assert (cookie["secure"], cookie["httponly"], cookie["samesite"].lower()) == (
            "True",
            "True",
            "strict",
        )


def test_an_old_sender_id_neither_reads_the_staff_replies_nor_writes_as_the_worker(
    client: TestClient, settings: Settings
) -> None:
    # A worker on a page that still sends its own id (as every page did),
    # which the access log kept for anyone who reads it.
    victim = ChatWorker(client)
    for text in ("/start", "sos help me"):
        assert victim.post(text, sender_id="web-victim").status_code == 200
    staff_reply(client, "Stay where you are, we call the police")

    stranger = ChatWorker(client)
    # Asking for the staff's replies with the id gets nothing...
    for ask in (stranger.poll(sender_id="web-victim"), stranger.poll()):
        assert ask.status_code == 200 and ask.json() == {"replies": []}
    # ...and writing with it writes as someone new, never as the worker.
    stranger.post("I am fine now, close my case", sender_id="web-victim")
    assert stranger.token != victim.token
    said = [
        m["original_text"]
        for m in stored_messages(settings.hotline_database_url, victim.channel_user_id)
    ]
    assert "I am fine now, close my case" not in said
    # The worker still gets the staff's reply, once.
    waiting = victim.poll().json()["replies"]
    assert [r["text"] for r in waiting] == ["Stay where you are, we call the police"]
    assert victim.poll().json() == {"replies": []}


def test_a_cookie_the_hotline_did_not_make_is_no_identity(
    client: TestClient, settings: Settings
) -> None:
    worker = ChatWorker(client)
    worker.say("hello")
    for made_up in ("A" * 43, "web-victim", worker.channel_user_id, ""):
        response = client.post(
            "/webchat/messages",
            json={"text": "hello"},
            headers={"cookie": f"{webchat.COOKIE}={made_up}"},
        )
        assert response.status_code == 200
        # A new worker, with a cookie the hotline chose.
        given = set_cookie_of(response)["value"]
        assert given not in (made_up, worker.token)
    assert len(stored_messages(settings.hotline_database_url, worker.channel_user_id)) == 2


def test_polling_without_the_cookie_gets_nothing(client: TestClient) -> None:
    response = client.get("/webchat/messages")
    assert response.status_code == 200
    assert response.json() == {"replies": []}
    assert "set-cookie" not in response.headers


def test_the_page_greets_a_new_visitor_once(client: TestClient) -> None:
    worker = ChatWorker(client)
    assert 'data-returning="0"' in client.get("/chat").text
    worker.say("/start")
    assert worker.token is not None
    page = client.get("/chat", headers={"cookie": f"{webchat.COOKIE}={worker.token}"})
    assert 'data-returning="1"' in page.text
    assert worker.token not in page.text
