"""What can go wrong when staff use the console or its API, one class per HTTP answer.

Services raise these; `api.console.install` maps them to responses in one
place (JSON for the API, a redirect to the login page for console pages).
Messages are for staff and never carry a worker's words.
"""

from __future__ import annotations


class ConsoleError(Exception):
    status_code = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or "")
        self.message = message or (self.__class__.__doc__ or "").strip()


class NotSignedIn(ConsoleError):
    """Sign in first."""

    status_code = 401


class Forbidden(ConsoleError):
    """Your role does not allow this."""

    status_code = 403


class CsrfRefused(ConsoleError):
    """The form was not sent by this console; reload the page and try again."""

    status_code = 403


class NotFound(ConsoleError):
    """Not found."""

    status_code = 404


class Conflict(ConsoleError):
    """Someone else changed this first."""

    status_code = 409


class InvalidInput(ConsoleError):
    """That is not a valid value."""

    status_code = 422


class TooManyAttempts(ConsoleError):
    """Too many failed sign-ins from here; wait a few minutes."""

    status_code = 429
