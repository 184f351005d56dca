"""Greeting: a worker's first greeting gets the welcome and language picker."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.conversations import service
from flows.actions.context import ActionContext


class ActionGreet(Action):
    def __init__(self, context: ActionContext) -> None:
        self._context = context

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        async with self._context.worker_for(tracker.sender_id) as worker:
            first_time = service.mark_welcomed(worker)
        dispatcher.utter_message(response="utter_welcome" if first_time else "utter_greet")
        return []
