"""What the engine understood of a worker message is kept once, encrypted
where it holds the worker's words, and goes with the message."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from api.state import AppState
from bot.conversations import service as conversations
from bot.privacy import queries as privacy
from bot.staff.models import Staff
from bot.understanding.queries import reading_of
from bot.understanding.service import Understanding
from core.settings import Settings
from tests.support import ChatWorker, decrypted, rows
from tests.support.actions import HEADERS


def _state(client: TestClient) -> AppState:
    state: AppState = client.app.state.hotline  # type: ignore[attr-defined]
    return state


def _tracker(public_id: str, key: str | None, intent: str, confidence: float) -> dict[str, Any]:
    """The tracker as the engine sends it with its calls (Rasa 3.6's `current_state`)."""
    metadata: dict[str, Any] = {"channel": "webchat", "language": "en", "hotline_message_id": 0}
    if key is not None:
        metadata["hotline_message_key"] = key
    return {
        "sender_id": public_id,
        "slots": {},
        "latest_message": {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [
                {
                    "entity": "phone_number",
                    "start": 8,
                    "end": 20,
                    "value": "081-234-5678",
                    "extractor": "RegexEntityExtractor",
                    "processors": [],
                },
                {
                    "entity": "province",
                    "start": 24,
                    "end": 32,
                    "value": "Ranong",
                    "confidence_entity": 0.93,
                    "extractor": "DIETClassifier",
                },
            ],
            "text": "call me 081-234-5678 in ranong",
            "message_id": "3f1c0d",
            "metadata": metadata,
            "intent_ranking": [
                {"name": intent, "confidence": confidence},
                {"name": "request_human", "confidence": 0.2},
            ],
        },
        "events": [],
    }


def _nlg(client: TestClient, tracker: dict[str, Any]) -> None:
    body = {"response": "utter_greet", "arguments": {}, "tracker": tracker}
    assert client.post("/nlg", json=body, headers=HEADERS).status_code == 200


def _message(settings: Settings, user: str) -> tuple[str, str]:
    """The worker's (only) message's key and their conversation's public id."""
    [(key, public_id)] = rows(
        settings.hotline_database_url,
        "SELECT m.engine_key, c.public_id FROM messages m "
        "JOIN conversations c ON c.id = m.conversation_id JOIN workers w ON w.id = c.worker_id "
        "WHERE w.channel_user_id = :user AND m.direction = 'inbound'",
        user=user,
    )
    return key, public_id


def _kept(settings: Settings) -> list[tuple[Any, ...]]:
    return rows(
        settings.hotline_database_url,
        "SELECT message_key, intent, confidence, ranking, entities FROM message_understandings",
    )


def test_the_first_call_of_a_turn_keeps_what_the_engine_understood(
    client: TestClient, settings: Settings
) -> None:
    worker = ChatWorker(client)
    worker.say("call me 081-234-5678 in ranong")
    key, public_id = _message(settings, worker.channel_user_id)
    assert len(key) == 32

    _nlg(client, _tracker(public_id, key, "request_human", 0.71))
    # Later calls of the same turn, in this process or another, change nothing.
    _nlg(client, _tracker(public_id, key, "greet", 0.99))
    another_process = Understanding(sessions=_state(client).sessions)
    client.portal.call(another_process.record, _tracker(public_id, key, "deny", 0.5))

    [(message_key, intent, confidence, ranking, entities)] = _kept(settings)
    assert (message_key, intent, confidence) == (key, "request_human", 0.71)
    ranking = json.loads(ranking) if isinstance(ranking, str) else ranking
    assert ranking == [
        {"name": "request_human", "confidence": 0.71},
        {"name": "request_human", "confidence": 0.2},
    ]
    # The entities hold the worker's words: encrypted, as their messages are.
    assert "081" not in entities and "Ranong" not in entities
    assert json.loads(decrypted(entities) or "") == [
        {
            "entity": "phone_number",
            "value": "081-234-5678",
            "start": 8,
            "end": 20,
            "extractor": "RegexEntityExtractor",
        },
        {
            "entity": "province",
            "value": "Ranong",
            "start": 24,
            "end": 32,
            "extractor": "DIETClassifier",
            "confidence": 0.93,
        },
    ]


def test_nothing_is_kept_for_a_message_the_app_did_not_send(
    client: TestClient, settings: Settings
) -> None:
    worker = ChatWorker(client)
    worker.say("hello")
    key, public_id = _message(settings, worker.channel_user_id)

    _nlg(client, _tracker(public_id, None, "greet", 0.9))  # no key: not the app's message
    _nlg(client, _tracker(public_id, "not a key", "greet", 0.9))
    _nlg(client, _tracker("0" * 32, key, "greet", 0.9))  # no such conversation
    _nlg(client, {"sender_id": public_id})  # no latest message at all
    assert _kept(settings) == []
    assert reading_of(None) is None


def test_erasing_a_worker_takes_what_the_engine_understood_of_them(
    client: TestClient, settings: Settings
) -> None:
    state = _state(client)
    forget, stay = ChatWorker(client), ChatWorker(client)
    forget.say("call me 081-234-5678 in ranong")
    stay.say("hello")
    for worker in (forget, stay):
        key, public_id = _message(settings, worker.channel_user_id)
        _nlg(client, _tracker(public_id, key, "request_human", 0.8))
    stays_key, _ = _message(settings, stay.channel_user_id)

    async def ask() -> tuple[int, int]:
        async with state.sessions.begin() as session:
            worker = await conversations.get_or_create_worker(
                session=session, channel="webchat", channel_user_id=forget.channel_user_id
            )
            request = await privacy.request_deletion(session=session, worker=worker)
            staff = Staff(username="sup", display_name="Sup", role="supervisor", password_hash="x")
            session.add(staff)
            await session.flush()
            return request.id, staff.id

    request_id, staff_id = client.portal.call(ask)
    client.portal.call(
        lambda: state.keeping.decide_deletion(
            request_id=request_id, staff_id=staff_id, confirm=True
        )
    )
    assert [row[0] for row in _kept(settings)] == [stays_key]
