"""What the real engine understood of each worker message is kept with it."""

import json
from typing import Any

import httpx
import pytest

from api.webchat import COOKIE, channel_user_id_of
from tests.support import decrypted, rows, stored_conversation
from tests.support.stack import Stack

pytestmark = pytest.mark.engine


def understood(stack: Stack, channel_user_id: str) -> list[dict[str, Any]]:
    """Each inbound message, oldest first, with what was kept of the engine's understanding."""
    found = rows(
        stack.database_url,
        "SELECT m.engine_key, u.intent, u.confidence, u.ranking, u.entities "
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "JOIN workers w ON w.id = c.worker_id "
        "LEFT JOIN message_understandings u ON u.message_key = m.engine_key "
        "WHERE w.channel_user_id = :user AND m.direction = 'inbound' ORDER BY m.id",
        user=channel_user_id,
    )
    return [
        {
            "key": key,
            "intent": intent,
            "confidence": confidence,
            "ranking": json.loads(ranking) if isinstance(ranking, str) else ranking,
            "entities": json.loads(decrypted(entities) or "null"),
            "entities_stored": entities,
        }
        for key, intent, confidence, ranking, entities in found
    ]


def test_each_worker_message_keeps_the_intent_confidence_and_entities(stack: Stack) -> None:
    cookies = httpx.Cookies()
    for text in ("hello", "minimum wage in Samut Sakhon how much"):
        response = httpx.post(
            f"{stack.app_url}/webchat/messages", json={"text": text}, cookies=cookies, timeout=60
        )
        assert response.status_code == 200, response.text
        cookies.update(response.cookies)
    worker = channel_user_id_of(cookies[COOKIE])

    first, second = understood(stack, worker)
    assert first["intent"] == "greet"
    assert second["intent"] == "ask_wage_info"
    assert 0 < second["confidence"] <= 1
    assert second["ranking"][0]["name"] == "ask_wage_info"
    assert {"entity": "province", "value": "Samut Sakhon"}.items() <= {
        key: value for key, value in second["entities"][0].items() if key in ("entity", "value")
    }.items()
    # The worker's words in the entities are stored encrypted.
    assert "Samut" not in second["entities_stored"]

    # What the engine's tracker carries of the latest message: the intent,
    # its ranking, the entities and the metadata the app sent, the key among
    # it (the second message went to the engine while it was being stored,
    # before its id was known).
    public_id = stored_conversation(stack.database_url, worker)["public_id"]
    tracker = httpx.get(
        f"{stack.engine_url}/conversations/{public_id}/tracker",
        params={"token": stack.token},
        timeout=30,
    ).json()
    latest = tracker["latest_message"]
    assert latest["intent"]["name"] == "ask_wage_info"
    assert latest["metadata"]["hotline_message_key"] == second["key"]
    # Its id is known to the engine only when the message was stored before
    # the engine was asked (0 otherwise): the key is what finds it.
    assert isinstance(latest["metadata"]["hotline_message_id"], int)
    assert latest["entities"][0]["entity"] == "province"
