"""What can go wrong in a handoff, as the console's own errors (one tree, mapped to HTTP once)."""

from __future__ import annotations

from api.console.errors import Conflict, Forbidden, InvalidInput, NotFound


class UnknownConversation(NotFound, LookupError):
    """No such conversation."""


class AlreadyClaimed(Conflict):
    """Another staff member has this conversation."""

    def __init__(self, claimed_by: str | None) -> None:
        who = claimed_by or "someone else"
        super().__init__(f"Already claimed by {who}.")
        self.claimed_by = claimed_by


class NotWithStaff(Conflict):
    """This conversation is not with staff any more."""


class NotYours(Forbidden):
    """This conversation is with another staff member."""


class UnknownStaff(InvalidInput):
    """No such active staff member."""


class UnknownCannedReply(InvalidInput):
    """No such ready-made reply."""


class EmptyMessage(InvalidInput):
    """Write something first."""
