"""What can go wrong when someone asks the hotline for something it cannot do.

One tree for every feature: services raise these, and only the web edge
(`api.errors`) decides which HTTP status each kind is answered with. Messages
are for staff, written in English and translated where they are shown
(`core.translation.N_` marks them), and never carry a worker's words.
"""

from __future__ import annotations

from core.translation import N_


class HotlineError(Exception):
    """Something asked of the hotline cannot be done."""

    # What staff read, in English. `%(name)s` slots are filled from `values`.
    default = N_("That cannot be done.")

    def __init__(self, message: str = "", **values: object) -> None:
        self.template = message or self.default
        self.values = values
        self.message = self.template % values if values else self.template
        super().__init__(self.message)


class NotSignedIn(HotlineError):
    default = N_("Sign in first.")


class Forbidden(HotlineError):
    default = N_("Your role does not allow this.")


class CsrfRefused(Forbidden):
    default = N_("The form was not sent by this console; reload the page and try again.")


class NotFound(HotlineError, LookupError):
    default = N_("Not found.")


class UnknownConversation(NotFound):
    default = N_("No such conversation.")


class Conflict(HotlineError):
    default = N_("Someone else changed this first.")


class InvalidInput(HotlineError, ValueError):
    default = N_("That is not a valid value.")


class TooManyAttempts(HotlineError):
    default = N_("Too many failed sign-ins from here; wait a few minutes.")


class Refused(NotFound):
    """Staff asked for a worker's conversation, case or file that their role
    does not let them see. Answered exactly as something that does not exist,
    so nobody learns that it does, and recorded in the audit log at the edge
    (`bot.access.record_refusal`), after the asking transaction is gone."""

    def __init__(
        self, message: str, *, staff_id: int, object_type: str, object_id: int, tried: str
    ) -> None:
        super().__init__(message)
        self.staff_id = staff_id
        self.object_type = object_type
        self.object_id = object_id
        self.tried = tried
