"""What the console calls the hotline's codes (statuses, kinds, roles, ...).

The database keeps codes such as `in_progress`; staff read these words,
translated like the rest of the console (`api/console_wording.py`). A code
without a word here is shown as it is, so a new one is never hidden.
"""

from __future__ import annotations

from api.console_wording import N_

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
# Who answers the worker now.
OWNERS = {
    "bot": N_("with the bot"),
    "queued": N_("waiting for staff"),
    "staff": N_("with staff"),
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
}
# What the live script shows by code.
FOR_SCRIPT = ("status", "kind", "owner")


def word(table: str, code: str) -> str:
    """The English word for a code (translated where it is shown), e.g.
    `word("status", "in_progress")`; an unknown code comes back as it is."""
    return TABLES[table].get(code, code)
