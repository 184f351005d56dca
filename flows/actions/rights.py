"""Rights answers: which sourced answer fits the worker's question.

The action only chooses (by the intent, the province and the topic a "more"
button carries) and fills the figures; the rules say the answer, and the
words come from the catalogs. Figures come from `flows/content/`, each with
its source keys from the content brief.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

# What a "more" button may ask for, by intent.
TOPICS = {
    "ask_wage_info": {"overtime": "wage_overtime", "pay_rules": "wage_pay_rules"},
    "ask_working_hours": {"leave": "holidays_leave"},
}
ANSWERS = {
    "ask_working_hours": "hours",
    "ask_documents": "documents",
    "ask_change_employer": "change_employer",
    "ask_social_security": "social_security",
    "ask_fishing_rights": "fishing_rights",
    "ask_dismissal": "dismissal",
}
OTHER_PROVINCE = "other"


@dataclass(frozen=True)
class WageRate:
    province: str
    baht: int
    since: str
    sources: tuple[str, ...]
    district: str | None = None


class MinimumWages:
    """The minimum-wage table of the content brief (section 1)."""

    def __init__(self, content_file: Path) -> None:
        data = yaml.safe_load(content_file.read_text(encoding="utf-8"))
        self.facts_as_of = str(data["facts_as_of"])
        self._rates: dict[str, WageRate] = {}
        for province, rate in data["provinces"].items():
            self._rates[province.lower()] = WageRate(
                province, rate["baht"], str(rate["from"]), tuple(rate["sources"])
            )
        for province, rate in data["districts"].items():
            self._rates[province.lower()] = WageRate(
                province,
                rate["baht"],
                str(rate["from"]),
                tuple(rate["sources"]),
                district=rate["district"],
            )

    def for_province(self, province: str) -> WageRate | None:
        return self._rates.get(province.strip().lower())


def _entity(tracker: Tracker, name: str) -> str | None:
    for value in tracker.get_latest_entity_values(name):
        return str(value)
    return None


class ActionAnswerRights(Action):
    def __init__(self, wages: MinimumWages) -> None:
        self._wages = wages

    def name(self) -> str:
        return "action_answer_rights"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        topic = _entity(tracker, "topic")
        chosen = TOPICS.get(intent, {}).get(topic or "")
        if chosen is not None:
            return [SlotSet("answer", chosen)]
        if intent != "ask_wage_info":
            return [SlotSet("answer", ANSWERS.get(intent, "hours"))]
        province = _entity(tracker, "province")
        if province is None:
            return [SlotSet("answer", "wage_ask_province")]
        rate = None if province == OTHER_PROVINCE else self._wages.for_province(province)
        if rate is None:
            return [SlotSet("answer", "wage_range")]
        return [
            SlotSet("answer", "wage_district" if rate.district else "wage_rate"),
            SlotSet("province", rate.province),
            SlotSet("wage_baht", str(rate.baht)),
            SlotSet("wage_from", rate.since),
            SlotSet("wage_district", rate.district),
        ]


class ActionAnswerRightsInReport(ActionAnswerRights):
    """A rights question in the middle of a report: answered, then the form goes on.

    Outside a report the rules say the answer this action's parent chose;
    inside one a single rule returns to the form, so the answer is sent from
    here, with its figures as the response's arguments.
    """

    def name(self) -> str:
        return "action_answer_rights_in_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        if intent == "ask_hotlines":
            dispatcher.utter_message(response="utter_hotlines")
            return []
        events = await super().run(dispatcher, tracker, domain)
        values = {
            str(event["name"]): event["value"]
            for event in events
            if event.get("event") == "slot" and event.get("value") is not None
        }
        answer = values.pop("answer")
        dispatcher.utter_message(response=f"utter_{answer}", **values)
        return events
