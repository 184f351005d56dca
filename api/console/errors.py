"""What can go wrong when staff use the console or its API, one class per HTTP answer.

Services raise these; `api.console.install` maps them to responses in one
place (JSON for the API, a redirect to the login page for console pages).
Messages are for staff and never carry a worker's words.
"""

from __future__ import annotations

from api.console_wording import N_


class ConsoleError(Exception):
    """Something staff asked for cannot be done."""

    status_code = 400
    # What staff read, in English; translated where it is shown (see
    # `api.console_wording`). `%(name)s` slots are filled from `values`.
    default = N_("That cannot be done.")

    def __init__(self, message: str = "", **values: object) -> None:
        self.template = message or self.default
        self.values = values
        self.message = self.template % values if values else self.template
        super().__init__(self.message)


class NotSignedIn(ConsoleError):
    status_code = 401
    default = N_("Sign in first.")


class Forbidden(ConsoleError):
    status_code = 403
    default = N_("Your role does not allow this.")


class CsrfRefused(ConsoleError):
    status_code = 403
    default = N_("The form was not sent by this console; reload the page and try again.")


class NotFound(ConsoleError):
    status_code = 404
    default = N_("Not found.")


class Conflict(ConsoleError):
    status_code = 409
    default = N_("Someone else changed this first.")


class InvalidInput(ConsoleError):
    status_code = 422
    default = N_("That is not a valid value.")


class TooManyAttempts(ConsoleError):
    status_code = 429
    default = N_("Too many failed sign-ins from here; wait a few minutes.")
