"""The worker picks the language the hotline answers in."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.conversations import service
from bot.language import LANGUAGES
from flows.actions.context import ActionContext


def _chosen_language(tracker: Tracker) -> str | None:
    for value in tracker.get_latest_entity_values("language"):
        code = str(value).strip().lower()
        if code in LANGUAGES:
            return code
    return None


class ActionSetLanguage(Action):
    def __init__(self, context: ActionContext) -> None:
        self._context = context

    def name(self) -> str:
        return "action_set_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        language = _chosen_language(tracker)
        if language is None:
            # "Change language" without saying which: the rules offer the picker.
            return [SlotSet("language_named", False)]
        async with self._context.worker_for(tracker.sender_id) as worker:
            service.choose_language(worker, language)
            service.mark_welcomed(worker)
        # Committed before the engine asks for the confirmation, so that it
        # is rendered in the new language.
        return [SlotSet("language_named", True)]
