"""What can go wrong in a handoff, as kinds of the hotline's one error tree (`core.errors`)."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, InvalidInput, UnknownConversation
from core.translation import N_


class AlreadyClaimed(Conflict):
    def __init__(self, claimed_by: str | None) -> None:
        if claimed_by:
            super().__init__(N_("Already claimed by %(name)s."), name=claimed_by)
        else:
            super().__init__(N_("Already claimed by someone else."))
        self.claimed_by = claimed_by


class NotWithStaff(Conflict):
    default = N_("This conversation is not with staff any more.")


class NotYours(Forbidden):
    default = N_("This conversation is with another staff member.")


class UnknownStaff(InvalidInput):
    default = N_("No such active staff member.")


class UnknownCannedReply(InvalidInput):
    default = N_("No such ready-made reply.")


class EmptyMessage(InvalidInput):
    default = N_("Write something first.")


__all__ = [
    "AlreadyClaimed",
    "EmptyMessage",
    "NotWithStaff",
    "NotYours",
    "UnknownCannedReply",
    "UnknownConversation",
    "UnknownStaff",
]
