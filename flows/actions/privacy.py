"""A worker asks the hotline to delete what it holds about them; staff confirm."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.privacy.queries import request_deletion
from flows.actions.context import ActionContext


class ActionRequestDeletion(Action):
    def __init__(self, context: ActionContext) -> None:
        self._context = context

    def name(self) -> str:
        return "action_request_deletion"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        async with self._context.conversation_for(tracker.sender_id) as (session, _, worker):
            await request_deletion(session=session, worker=worker)
        reply = await self._context.reply(tracker.sender_id, "utter_deletion_requested")
        dispatcher.utter_message(text=reply.text, buttons=[b.as_dict() for b in reply.buttons])
        return []
