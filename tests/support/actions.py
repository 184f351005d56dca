"""Calling the app's action endpoint as the engine does, for tests of the actions."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi.testclient import TestClient

from core.settings import PROJECT_ROOT, Settings
from tests.conftest import ENGINE_TOKEN
from tests.support import ChatWorker, scalar

HEADERS = {"X-Hotline-Engine-Token": ENGINE_TOKEN}
DOMAIN = yaml.safe_load((PROJECT_ROOT / "flows" / "domain.yml").read_text(encoding="utf-8"))

# The hotline's own intents, outside the public taxonomy: reached mostly by
# its buttons (cancel a report, a shared location, delete my data), trained
# with a few typed examples and never reported in the taxonomy's statistics.
INTERNAL_INTENTS = {"cancel_report", "share_location", "request_data_deletion"}

ANSWERS = {
    "report_kind": "document_confiscation",
    "report_when": "since March",
    "report_where": "Samut Sakhon",
    "report_province": "Samut Sakhon",
    "report_employer": "<script>alert(1)</script> Golden Sea boat",
    "report_workers": "12",
    "report_in_danger": "no",
    "report_evidence": "no",
    "report_contact": "chat",
    "report_consent": "yes",
    "report_confirmed": "yes",
}


def public_id_of(database_url: str, channel_user_id: str) -> str:
    return str(
        scalar(
            database_url,
            "SELECT c.public_id FROM conversations c JOIN workers w ON w.id = c.worker_id "
            "WHERE w.channel_user_id = :user",
            user=channel_user_id,
        )
    )


def worker(client: TestClient, settings: Settings, user: str, text_: str = "hello") -> str:
    """A new web chat worker who says `text_`; their conversation's public id.
    (`user` names the worker for the reader of the test.)"""
    chat = ChatWorker(client)
    chat.say(text_)
    return public_id_of(settings.hotline_database_url, chat.channel_user_id)


def action_call(action: str, sender_id: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "next_action": action,
        "sender_id": sender_id,
        "version": "3.6.21",
        "domain": {"intents": [], "entities": [], "slots": {}, "responses": {}, "actions": []},
        "tracker": {
            "sender_id": sender_id,
            "slots": {},
            "latest_message": {
                "text": "",
                "intent": {"name": "choose_language"},
                "entities": entities,
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def call(
    action: str,
    sender: str,
    *,
    slots: dict[str, Any] | None = None,
    intent: str = "nlu_fallback",
    entities: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
) -> dict[str, Any]:
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.21",
        "domain": DOMAIN,
        "tracker": {
            "sender_id": sender,
            "slots": slots or {},
            "latest_message": {"text": "", "intent": {"name": intent}, "entities": entities or []},
            "events": events or [],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        },
    }


def run(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/actions/webhook", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
