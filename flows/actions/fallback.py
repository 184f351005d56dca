"""When the engine did not understand: offer topics, then (the second time) a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

FALLBACK_INTENT = "nlu_fallback"


def missed_twice_in_a_row(tracker: Tracker) -> bool:
    user_turns = [event for event in tracker.events if event.get("event") == "user"]
    if len(user_turns) < 2:
        return False
    previous = (user_turns[-2].get("parse_data") or {}).get("intent") or {}
    return previous.get("name") == FALLBACK_INTENT


class ActionNotUnderstood(Action):
    def name(self) -> str:
        return "action_not_understood"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return [SlotSet("missed_before", missed_twice_in_a_row(tracker))]
