"""The report form: its questions, the checks on each answer, and the filing.

The engine's rules (flows/data/report.yml) start and end the form; the
answers arrive as slots, free text in any language and script or a button's
choice. Filing opens a case (bot.cases.queries.file_report) and, when the worker may be
contacted in this chat or is in danger, puts the conversation in the staff
queue.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.cases import contact as contact_details
from bot.cases import queries as cases
from bot.cases.indicators import ForcedLabourIndicators
from bot.conversations import service as conversations
from bot.conversations.models import EscalationReason
from bot.danger import Signal
from core.errors import UnknownConversation
from flows.actions.context import ActionContext

logger = logging.getLogger(__name__)

FORM = "report_form"
KINDS = ("unpaid_wages", "document_confiscation", "violence", "forced_labour")
OTHER_KIND = "other"
YES, NO = "yes", "no"
CHAT, NO_CONTACT = "chat", "none"
SKIPPED = "skipped"
SHARED_LOCATION = "shared_location"
# The form's questions, in the order it asks them.
QUESTIONS = (
    "report_kind",
    "report_when",
    "report_where",
    "report_employer",
    "report_workers",
    "report_in_danger",
    "report_evidence",
    "report_contact",
    "report_consent",
    "report_confirmed",
)
# After the summary the worker may change one answer (a button per answer).
CORRECTION = "report_correction"
CORRECTING = "report_correcting"
CORRECTABLE = QUESTIONS[:-1]
# Slots that hold the report besides the questions.
EXTRA = ("report_story", "report_province", CORRECTION, CORRECTING)
# Answers that go with a question's own and are asked again with it.
ASKED_WITH = {"report_kind": ("report_story",), "report_where": ("report_province",)}
# A worker's answer is kept whole up to here; a report is not an essay box.
MAX_ANSWER_CHARS = 1000


async def _say(
    context: ActionContext,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    name: str,
    **values: str,
) -> None:
    reply = await context.reply(tracker.sender_id, name, **values)
    dispatcher.utter_message(text=reply.text, buttons=[b.as_dict() for b in reply.buttons])


def _free_text(value: Any) -> str | None:
    """A typed answer, or None when there is nothing the worker wrote."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    # A button of another step ("/greet") is not an answer.
    if not text or text.startswith("/"):
        return None
    return text[:MAX_ANSWER_CHARS]


def _latest_entity(tracker: Tracker, entity: str) -> str | None:
    for value in tracker.get_latest_entity_values(entity):
        return str(value)
    return None


def _intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def cleared(*slots: str) -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in slots]


def before_this_message(tracker: Tracker, slot: str) -> Any:
    """A slot's value as it stood before the worker's latest message."""
    value: Any = None
    events = list(tracker.events)
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    for event in events[: max(last_user, 0)]:
        if event.get("event") == "slot" and event.get("name") == slot:
            value = event.get("value")
    return value


def kept_from_before(tracker: Tracker, slot: str, value: Any) -> bool:
    """An answer given earlier, validated again as the form starts anew
    (after a pause or a handoff): it stands as it was, with what went with it."""
    return value is not None and value == before_this_message(tracker, slot)


class ValidateReportForm(FormValidationAction):
    def __init__(self, context: ActionContext) -> None:
        self._context = context

    def name(self) -> str:
        return "validate_report_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # Someone in danger: no more questions, the emergency path now.
        if tracker.get_slot("report_in_danger") == YES:
            return domain_slots[: domain_slots.index("report_in_danger") + 1]
        if tracker.get_slot(CORRECTING):
            # Which answer to change comes before the summary is shown again.
            return domain_slots
        return [slot for slot in domain_slots if slot != CORRECTION]

    async def _choice(
        self,
        value: Any,
        allowed: tuple[str, ...],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> str | None:
        if value in allowed:
            return str(value)
        # Typed words where a choice is asked: the question comes again.
        await _say(self._context, dispatcher, tracker, "utter_report_use_buttons")
        return None

    async def validate_report_kind(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if kept_from_before(tracker, "report_kind", value):
            return {"report_kind": value}
        asked = tracker.get_slot("requested_slot")
        earlier = before_this_message(tracker, "report_kind")
        if asked not in (None, "report_kind") and earlier is not None:
            # An answer to a later question that reads like a report ("12
            # workers" as violence) must not change what happened.
            return {"report_kind": earlier}
        if value in KINDS:
            return {"report_kind": value}
        story = _free_text(value)
        if story is None:
            return {"report_kind": None}
        # Told in the worker's own words rather than by a button.
        return {"report_kind": OTHER_KIND, "report_story": story}

    async def validate_report_when(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"report_when": _free_text(value)}

    async def validate_report_where(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if kept_from_before(tracker, "report_where", value):
            return {"report_where": value}
        province = _latest_entity(tracker, "province")
        if province and province != "other":
            return {"report_where": province, "report_province": province}
        if value == SHARED_LOCATION or _intent(tracker) == "share_location":
            return {"report_where": await self._shared_location(tracker)}
        return {"report_where": _free_text(value), "report_province": None}

    async def _shared_location(self, tracker: Tracker) -> str | None:
        # The app keeps the location on the conversation; the engine only
        # learns that one was shared.
        async with self._context.conversation_for(tracker.sender_id) as (_, conversation, __):
            location = conversation.location or {}
        latitude, longitude = location.get("latitude"), location.get("longitude")
        if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
            return None
        return f"{latitude:.5f}, {longitude:.5f}"

    async def validate_report_employer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == SKIPPED:
            return {"report_employer": SKIPPED}
        return {"report_employer": _free_text(value)}

    async def validate_report_workers(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"report_workers": _free_text(value)}

    async def validate_report_in_danger(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"report_in_danger": await self._choice(value, (YES, NO), dispatcher, tracker)}

    async def validate_report_evidence(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"report_evidence": await self._choice(value, (YES, NO), dispatcher, tracker)}

    async def validate_report_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        phone = _latest_entity(tracker, "phone_number")
        if phone:
            return {"report_contact": phone}
        return {
            "report_contact": await self._choice(value, (CHAT, NO_CONTACT), dispatcher, tracker)
        }

    async def validate_report_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"report_consent": await self._choice(value, (YES, NO), dispatcher, tracker)}

    async def validate_report_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == NO:
            # "Correct": the worker picks the answer to change; the others stay.
            return {"report_confirmed": None, CORRECTING: True}
        return {"report_confirmed": await self._choice(value, (YES,), dispatcher, tracker)}

    async def validate_report_correction(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        field = await self._choice(value, CORRECTABLE, dispatcher, tracker)
        if field is None:
            return {CORRECTION: None}
        # Emptied, the answer is asked again; then the summary comes back.
        again = dict.fromkeys((field, *ASKED_WITH.get(field, ())))
        return {**again, CORRECTION: None, CORRECTING: False}


def _field_of(payload: str) -> str | None:
    """The answer a "change this answer" button names (`/affirm{"report_field": ...}`)."""
    _, brace, rest = payload.partition("{")
    field = json.loads(brace + rest).get("report_field") if brace else None
    return str(field) if field is not None else None


class ActionAskReport(Action):
    """Asks one of the form's questions (`action_ask_<slot>`), in the worker's language."""

    def __init__(self, context: ActionContext, slot: str) -> None:
        self._context = context
        self._slot = slot

    def name(self) -> str:
        return f"action_ask_{self._slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        language = await self._context.language_for(tracker.sender_id)
        values = {
            slot: self._context.label(language, slot, str(tracker.get_slot(slot)))
            for slot in QUESTIONS
            if tracker.get_slot(slot) is not None
        }
        story = tracker.get_slot("report_story")
        if story:
            # Told in their own words: the summary shows those words.
            values["report_kind"] = str(story)
        reply = self._context.replies.render(f"utter_ask_{self._slot}", language, **values)
        buttons = reply.buttons
        if self._slot == CORRECTION:
            # Only answers the worker gave can be changed.
            buttons = [b for b in buttons if _field_of(b.payload) in (None, *values)]
        dispatcher.utter_message(text=reply.text, buttons=[b.as_dict() for b in buttons])
        return []


# The question the form last asked outlives the form when the engine's
# session ends (slots carry over). The form, started again, would take the
# worker's next words as the answer to it: "Go on" as "yes, file it". Actions
# that (re)start the form clear it.
PENDING_QUESTION = "requested_slot"


def has_unfinished_report(tracker: Tracker, *, counting_kind: bool = True) -> bool:
    """Answers kept from a report that was neither filed nor cancelled."""
    questions = QUESTIONS if counting_kind else QUESTIONS[1:]
    return any(tracker.get_slot(slot) is not None for slot in questions)


def began_with_a_report(tracker: Tracker) -> bool:
    """Whether the worker's message before the latest one started a report."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2:
        return False
    intent = ((users[-2].get("parse_data") or {}).get("intent") or {}).get("name") or ""
    return str(intent).startswith("report_")


class ActionStartReport(Action):
    """Before the form starts: are there answers from a report left unfinished?"""

    def name(self) -> str:
        return "action_start_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # The kind comes with the intent that starts a report; any other
        # answer was given before.
        unfinished = has_unfinished_report(tracker, counting_kind=False)
        return [*cleared(PENDING_QUESTION), SlotSet("report_unfinished", unfinished)]


class ActionResumeReport(Action):
    """Go on with the unfinished report: the form asks its next question afresh."""

    def name(self) -> str:
        return "action_resume_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return cleared(PENDING_QUESTION)


class ActionResetReport(Action):
    """Start again: the earlier answers go; what the worker just reported
    stays when a new report is what brought the earlier one up."""

    def name(self) -> str:
        return "action_reset_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        questions = QUESTIONS[1:] if began_with_a_report(tracker) else QUESTIONS
        return [
            *cleared(*questions, *EXTRA),
            *cleared(PENDING_QUESTION),
            SlotSet("report_unfinished", False),
        ]


class ActionCancelReport(Action):
    def name(self) -> str:
        return "action_cancel_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return [
            *cleared(*QUESTIONS, *EXTRA, PENDING_QUESTION),
            SlotSet("report_unfinished", False),
        ]


def report_began(tracker: Tracker) -> datetime | None:
    """When the form started for the report now being filed."""
    began: float | None = None
    for event in tracker.events:
        kind = event.get("event")
        if kind == "action" and event.get("name") in (
            "action_submit_report",
            "action_cancel_report",
        ):
            began = None
        elif kind == "active_loop" and event.get("name") == FORM and began is None:
            began = event.get("timestamp")
    return None if began is None else datetime.fromtimestamp(began, UTC)


class ActionSubmitReport(Action):
    def __init__(self, context: ActionContext, indicators: ForcedLabourIndicators) -> None:
        self._context = context
        self._indicators = indicators

    def name(self) -> str:
        return "action_submit_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        slot = tracker.get_slot
        in_danger = slot("report_in_danger") == YES
        contact = slot("report_contact")
        if in_danger:
            # Asked who may contact them: someone in danger is contacted here.
            contact = contact or CHAT
        # The contact is kept apart from the answers (see bot.cases.contact).
        answers = {
            key: slot(f"report_{key}")
            for key in ("story", "when", "where", "employer", "workers", "evidence")
            if slot(f"report_{key}") is not None
        }
        began = report_began(tracker)
        async with self._context.conversation_for(tracker.sender_id) as (
            session,
            conversation,
            worker,
        ):
            attachments: list[int] = []
            if began is not None:
                attachments = await cases.attachments_since(
                    session=session, conversation_id=conversation.id, since=began
                )
            case = await cases.file_report(
                session=session,
                conversation=conversation,
                report=cases.Report(
                    kind=str(slot("report_kind") or OTHER_KIND),
                    answers=answers,
                    language=conversations.language_of(
                        worker, default=self._context.settings.hotline_default_language
                    ),
                    province=slot("report_province"),
                    in_danger=in_danger,
                    consent_to_share=slot("report_consent") == YES,
                    contact=contact_details.from_answer(contact),
                    attachment_ids=attachments,
                ),
                indicators=self._indicators,
                prefix=self._context.settings.hotline_case_prefix,
            )
            reference = str(case.reference)
            case_id, conversation_id = case.id, conversation.id
        logger.info("case %s filed from conversation %s", case_id, conversation_id)
        if in_danger:
            await _say(
                self._context,
                dispatcher,
                tracker,
                "utter_report_filed_danger",
                case_reference=reference,
            )
            await self._escalate(tracker, EscalationReason.EMERGENCY)
        elif contact == CHAT:
            await _say(
                self._context,
                dispatcher,
                tracker,
                "utter_report_filed_follow_up",
                case_reference=reference,
            )
            await self._escalate(tracker, EscalationReason.REPORT_FOLLOW_UP)
        else:
            # A phone number or no contact: staff call, or the worker writes
            # again; the conversation stays with the bot.
            await _say(
                self._context, dispatcher, tracker, "utter_report_filed", case_reference=reference
            )
        return [
            *cleared(*QUESTIONS, *EXTRA),
            SlotSet("report_unfinished", False),
            SlotSet("case_reference", reference),
        ]

    async def _escalate(self, tracker: Tracker, reason: EscalationReason) -> None:
        # Someone in danger, by the form's own question: kept for review.
        alarm = Signal.REPORT if reason is EscalationReason.EMERGENCY else None
        try:
            await self._context.handoff.escalate(
                public_id=tracker.sender_id, reason=reason, alarm=alarm
            )
        except UnknownConversation:
            logger.error("report filed for a conversation the app does not know")
