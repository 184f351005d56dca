"""Bringing in staff: the worker asked, is in danger, or the bot failed them twice."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.conversations.models import EscalationReason
from bot.danger import Signal
from core.errors import UnknownConversation
from flows.actions.context import ActionContext

logger = logging.getLogger(__name__)

# The offer of staff after the second "not understood" in a row.
STAFF_OFFER = "utter_not_understood_again"


def previous_bot_action(tracker: Tracker) -> str | None:
    """The last thing the engine did before the worker's latest message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return str(event.get("name"))
    return None


def escalation_reason(tracker: Tracker) -> EscalationReason:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == "emergency":
        return EscalationReason.EMERGENCY
    if previous_bot_action(tracker) == STAFF_OFFER:
        return EscalationReason.NOT_UNDERSTOOD
    return EscalationReason.ASKED_FOR_PERSON


class ActionHandToStaff(Action):
    def __init__(self, context: ActionContext) -> None:
        self._context = context

    def name(self) -> str:
        return "action_hand_to_staff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        reason = escalation_reason(tracker)
        # The engine read danger: kept for review beside the detector's alarms.
        alarm = Signal.ENGINE if reason is EscalationReason.EMERGENCY else None
        try:
            await self._context.handoff.escalate(
                public_id=tracker.sender_id, reason=reason, alarm=alarm
            )
        except UnknownConversation:
            logger.error("escalation asked for a conversation the app does not know")
        return []
