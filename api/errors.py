"""The one place where the hotline's errors (`core.errors`) become HTTP statuses."""

from __future__ import annotations

from fastapi import status

from core.errors import (
    Conflict,
    Forbidden,
    HotlineError,
    InvalidInput,
    NotFound,
    NotSignedIn,
    TooManyAttempts,
)

# Most specific first: a subclass answers with its parent's status unless
# listed itself.
_STATUSES: list[tuple[type[HotlineError], int]] = [
    (NotSignedIn, status.HTTP_401_UNAUTHORIZED),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (InvalidInput, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (TooManyAttempts, status.HTTP_429_TOO_MANY_REQUESTS),
]


def status_of(error: HotlineError) -> int:
    for kind, code in _STATUSES:
        if isinstance(error, kind):
            return code
    return status.HTTP_400_BAD_REQUEST
