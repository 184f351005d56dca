"""Greeting: is this the worker's first contact, and did they leave a report
unfinished? The rules answer accordingly."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.conversations import service
from flows.actions.context import ActionContext
from flows.actions.report import has_unfinished_report


class ActionGreet(Action):
    def __init__(self, context: ActionContext) -> None:
        self._context = context

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # Stored with the worker, not in the engine's slots: engine sessions
        # expire, a worker is welcomed once.
        async with self._context.worker_for(tracker.sender_id) as worker:
            first_time = service.mark_welcomed(worker)
        # A worker coming back is offered the report they did not finish,
        # even one who began with the report rather than a hello.
        if has_unfinished_report(tracker):
            greeting = "unfinished_report"
        else:
            greeting = "welcome" if first_time else "again"
        return [SlotSet("greeting", greeting)]
