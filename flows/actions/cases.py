"""A worker asks about their case: its status, and only for the worker who reported it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.cases import queries as cases
from flows.actions.context import ActionContext


class ActionCaseStatus(Action):
    def __init__(self, context: ActionContext) -> None:
        self._context = context

    def name(self) -> str:
        return "action_case_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        language = await self._context.language_for(tracker.sender_id)
        reference = next(iter(tracker.get_latest_entity_values("case_reference")), None)
        name, values = "utter_ask_case_reference", {}
        if reference is not None:
            async with self._context.conversation_for(tracker.sender_id) as (session, _, worker):
                status = await cases.status_for_worker(
                    session=session, worker=worker, reference=str(reference)
                )
            # Someone else's case and a case that does not exist get the same
            # words: nobody learns whether a number is in use.
            name = "utter_case_not_found"
            if status is not None:
                name = "utter_case_status"
                values = {
                    "case_reference": cases.normalise_reference(str(reference)) or "",
                    "case_status": self._context.label(language, "case_status", status.value),
                }
        reply = self._context.replies.render(name, language, **values)
        dispatcher.utter_message(text=reply.text, buttons=[b.as_dict() for b in reply.buttons])
        return []
