"""What the console calls the hotline's codes (statuses, kinds, roles, ...).

The database keeps codes such as `in_progress`; staff read these words,
translated like the rest of the console (`api/console_wording.py`). A code
without a word here is shown as it is, so a new one is never hidden.
"""

from __future__ import annotations

from core.translation import N_

WORKER_LANGUAGES = {
    "my": N_("Burmese"),
    "km": N_("Khmer"),
    "lo": N_("Lao"),
    "th": N_("Thai"),
    "en": N_("English"),
}
CASE_STATUSES = {
    "new": N_("new"),
    "in_progress": N_("in progress"),
    "referred": N_("referred"),
    "closed": N_("closed"),
}
CASE_KINDS = {
    "document_confiscation": N_("documents kept by the employer"),
    "unpaid_wages": N_("unpaid wages"),
    "violence": N_("violence"),
    "forced_labour": N_("forced labour"),
    "other": N_("other"),
}
OUTCOMES = {
    "resolved": N_("resolved"),
    "referred": N_("referred"),
    "no_response": N_("no response"),
    "case_opened": N_("case opened"),
    "not_needed": N_("not needed"),
}
# What happened to a case, in its timeline.
CASE_EVENTS = {
    "reported": N_("reported"),
    "assigned": N_("assigned"),
    "status": N_("status changed"),
}
# The ILO's indicators of forced labour as named in
# flows/content/forced_labour_indicators.yml (source T6; a test keeps the
# two the same), for translation.
INDICATORS = {
    "abuse_of_vulnerability": N_("abuse of vulnerability"),
    "deception": N_("deception"),
    "restriction_of_movement": N_("restriction of movement"),
    "isolation": N_("isolation"),
    "physical_and_sexual_violence": N_("physical and sexual violence"),
    "intimidation_and_threats": N_("intimidation and threats"),
    "retention_of_identity_documents": N_("retention of identity documents"),
    "withholding_of_wages": N_("withholding of wages"),
    "debt_bondage": N_("debt bondage"),
    "abusive_working_and_living_conditions": N_("abusive working and living conditions"),
    "excessive_overtime": N_("excessive overtime"),
}
# What the worker asked about (the engine's intents, docs/intents.md):
# staff who do not read the worker's language see what the bot understood.
INTENTS = {
    "greet": N_("greeting"),
    "goodbye": N_("goodbye"),
    "thanks": N_("thanks"),
    "affirm": N_("yes"),
    "deny": N_("no"),
    "choose_language": N_("choosing a language"),
    "request_human": N_("asked for a person"),
    "emergency": N_("emergency"),
    "check_case_status": N_("news of a report"),
    "out_of_scope": N_("something the hotline does not handle"),
    "ask_wage_info": N_("wages and pay"),
    "ask_working_hours": N_("working hours, rest and leave"),
    "ask_documents": N_("passport, work permit, pink card"),
    "ask_change_employer": N_("changing employer"),
    "ask_social_security": N_("social security, injury, hospital"),
    "ask_fishing_rights": N_("fishers' rights at sea"),
    "ask_hotlines": N_("phone numbers and offices"),
    "ask_dismissal": N_("dismissal and severance pay"),
    "report_abuse": N_("wants to report abuse"),
    "report_unpaid_wages": N_("report: unpaid wages"),
    "report_document_confiscation": N_("report: documents kept"),
    "report_violence": N_("report: violence"),
    "report_forced_labour": N_("report: forced labour"),
    "cancel_report": N_("stopped a report"),
    "share_location": N_("shared a location"),
    "request_data_deletion": N_("asked to delete their data"),
}
# The worker's answers to the report's questions (flows/actions/report.py).
ANSWERS = {
    "story": N_("What happened, in their words"),
    "when": N_("When"),
    "where": N_("Where"),
    "employer": N_("Employer, broker, boat or factory"),
    "workers": N_("Workers affected"),
    "evidence": N_("Photos, voice notes or documents"),
    "contact": N_("How staff may contact them"),
}
# How staff may contact a worker who reported, when it is not by the phone
# number they gave (bot/cases/contact.py).
CONTACT_WAYS = {
    "chat": N_("in this chat"),
    "none": N_("not to be contacted"),
}
# What became of a message (bot/conversations/models.py MessageStatus).
MESSAGE_STATUSES = {
    "received": N_("received"),
    "answered": N_("answered"),
    "engine_unavailable": N_("waiting for the bot"),
    "for_staff": N_("for staff"),
    "rate_limited": N_("too many at once"),
    "queued": N_("sending"),
    "sent": N_("sent"),
    "failed": N_("not delivered"),
}
# The ready-made replies' topics (catalog ids `canned.<topic>.<name>`).
CANNED_TOPICS = {
    "greeting": N_("Greeting"),
    "questions": N_("Questions"),
    "safety": N_("Safety"),
    "referral": N_("Referral"),
    "closing": N_("Closing"),
}
# Why a conversation waits for staff (EscalationReason).
REASONS = {
    "emergency": N_("Emergency"),
    "asked_for_person": N_("Asked for a person"),
    "not_understood": N_("Not understood twice"),
    "report_follow_up": N_("Report needs follow-up"),
}
# Who answers the worker now.
OWNERS = {
    "bot": N_("with the bot"),
    "queued": N_("waiting for staff"),
    "staff": N_("with staff"),
}
# Danger alarms (bot/danger): their level, what raised them, the situation
# read, and the worker's answer to "is someone in danger right now?".
ALARM_LEVELS = {
    "danger": N_("danger"),
    "doubt": N_("doubt"),
}
ALARM_SIGNALS = {
    "words": N_("danger words"),
    "model": N_("danger model"),
    "context": N_("with the message before"),
    "engine": N_("the bot's understanding"),
    "report": N_("report form"),
    "worker": N_("the worker said so"),
}
SITUATIONS = {
    "violence": N_("violence"),
    "confined": N_("locked in or held"),
    "sea": N_("at sea"),
    "injury": N_("injury or illness"),
    "sexual": N_("sexual assault"),
    "taken": N_("taken by a broker"),
    "threat_kill": N_("threat to kill"),
    "suicide": N_("suicide or self-harm"),
    "hidden": N_("hidden or transported"),
    "fire": N_("fire, collapse or trapped"),
}
WORKER_ANSWERS = {
    "yes": N_("yes, in danger"),
    "no": N_("no danger"),
}
ROLES = {
    "agent": N_("agent"),
    "supervisor": N_("supervisor"),
    "admin": N_("admin"),
}


TABLES = {
    "status": CASE_STATUSES,
    "kind": CASE_KINDS,
    "event": CASE_EVENTS,
    "outcome": OUTCOMES,
    "role": ROLES,
    "owner": OWNERS,
    "language": WORKER_LANGUAGES,
    "intent": INTENTS,
    "indicator": INDICATORS,
    "message": MESSAGE_STATUSES,
    "topic": CANNED_TOPICS,
    "reason": REASONS,
    "answer": ANSWERS,
    "contact": CONTACT_WAYS,
    "alarm": ALARM_LEVELS,
    "signal": ALARM_SIGNALS,
    "situation": SITUATIONS,
    "worker_answer": WORKER_ANSWERS,
}
# What the live script shows by code.
FOR_SCRIPT = (
    "status",
    "kind",
    "owner",
    "intent",
    "answer",
    "contact",
    "message",
    "topic",
    "indicator",
    "reason",
    "language",
)


def word(table: str, code: str) -> str:
    """The English word for a code (translated where it is shown), e.g.
    `word("status", "in_progress")`; an unknown code comes back as it is."""
    return TABLES[table].get(code, code)
