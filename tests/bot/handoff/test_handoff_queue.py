"""Escalation puts a conversation in the staff queue, most urgent first."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.state import AppState
from bot.channels.base import InboundMessage
from bot.conversations.models import EscalationReason, MessageKind, Owner
from tests.support import stored_conversation


def _conversation_of(client: TestClient, user: str) -> str:
    state: AppState = client.app.state.hotline  # type: ignore[attr-defined]
    inbound = InboundMessage(
        channel="line", channel_user_id=user, kind=MessageKind.TEXT, text="help"
    )
    assert client.portal.call(state.dialogue.accept, inbound) is not None
    return stored_conversation(state.settings.hotline_database_url, user)["public_id"]


def test_a_worker_asking_for_a_person_waits_in_the_queue(client: TestClient) -> None:
    state: AppState = client.app.state.hotline  # type: ignore[attr-defined]
    public_id = _conversation_of(client, "U-queue-1")

    async def escalate_and_listen() -> list[dict[str, object]]:
        async with state.handoff.events.subscribe() as events:
            escalation = await state.handoff.escalate(
                public_id=public_id, reason=EscalationReason.ASKED_FOR_PERSON
            )
            assert escalation.newly_queued
            return [events.get_nowait()]

    events = client.portal.call(escalate_and_listen)
    assert events[0]["kind"] == "queued"
    assert events[0]["emergency"] is False
    stored = stored_conversation(state.settings.hotline_database_url, "U-queue-1")
    assert stored["owner"] == Owner.QUEUED
    assert stored["escalation_reason"] == "asked_for_person"
    assert stored["escalated_at"] is not None


def test_danger_moves_a_waiting_worker_to_the_front_without_losing_their_place(
    client: TestClient,
) -> None:
    state: AppState = client.app.state.hotline  # type: ignore[attr-defined]
    public_id = _conversation_of(client, "U-queue-2")
    first = client.portal.call(
        lambda: state.handoff.escalate(
            public_id=public_id, reason=EscalationReason.ASKED_FOR_PERSON
        )
    )
    waited_since = stored_conversation(state.settings.hotline_database_url, "U-queue-2")[
        "escalated_at"
    ]
    second = client.portal.call(
        lambda: state.handoff.escalate(public_id=public_id, reason=EscalationReason.EMERGENCY)
    )
    assert first.newly_queued and not second.newly_queued
    assert second.reason is EscalationReason.EMERGENCY
    stored = stored_conversation(state.settings.hotline_database_url, "U-queue-2")
    assert stored["priority"] > first.priority
    assert stored["escalated_at"] == waited_since
