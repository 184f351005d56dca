"""How staff may reach a worker who reported.

The report form asks whether and how staff may contact the worker: in this
chat, by a phone number they type, or not at all. The answer is kept in one
place, the case's `contact` (encrypted), never among the answers: the
answers go into every referral, while the contact leaves the hotline only
when the worker agreed to sharing, and erasing the worker's data must find
every copy of it.
"""

from __future__ import annotations

from typing import Any

CHAT, NONE, PHONE = "chat", "none", "phone"


def from_answer(answer: Any) -> dict[str, str] | None:
    """The form's contact answer (chat, none, or the typed number) as the case keeps it."""
    if not isinstance(answer, str) or not answer.strip():
        return None
    if answer in (CHAT, NONE):
        return {"by": answer}
    return {"by": PHONE, "phone": answer.strip()}
