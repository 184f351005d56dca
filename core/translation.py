"""Marking the hotline's own words for the gettext catalogs."""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks a message for the catalogs (gettext's usual name); it is
    translated where it is shown."""
    return message
