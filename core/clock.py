"""The hotline's one clock: aware UTC times, compared the same way on every database."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
