"""Who may see a worker's words: their conversation, their case, their files.

One module decides, and one rule refuses: what a staff member may not see is
answered as not found (`core.errors.Refused`), so an agent cannot learn that
someone else's conversation or case exists, and every refusal is kept in the
audit log, so an admin can see who tried to read what.

- Supervisors and admins see everything.
- Agents see the waiting queue and the conversations they claimed, the cases
  assigned to them, and the files of conversations they claimed or whose
  case is assigned to them.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.models import Case
from bot.conversations.models import Conversation, Owner
from bot.staff import audit
from bot.staff.models import Role
from core.errors import Refused, UnknownConversation
from core.translation import N_

# What a refusal says: word for word what is said of a missing one.
MISSING_CASE = N_("no such case")
MISSING_FILE = N_("no such file")
MISSING = {
    "conversation": UnknownConversation.default,
    "case": MISSING_CASE,
    "attachment": MISSING_FILE,
}


class Viewer(Protocol):
    """Whoever acts in the console: a signed-in staff member or an integration's token."""

    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...


def sees_everything(viewer: Viewer) -> bool:
    return str(viewer.role) in (Role.SUPERVISOR.value, Role.ADMIN.value)


def may_see_conversation(viewer: Viewer, conversation: Conversation) -> bool:
    if sees_everything(viewer):
        return True
    return conversation.owner == Owner.QUEUED or conversation.claimed_by == viewer.id


def conversations_visible_to(viewer: Viewer, query: Select[Any]) -> Select[Any]:
    """`query` over conversations, narrowed to those the viewer may see."""
    if sees_everything(viewer):
        return query
    return query.where(
        (Conversation.owner == Owner.QUEUED.value) | (Conversation.claimed_by == viewer.id)
    )


def may_see_case(viewer: Viewer, case: Case) -> bool:
    return sees_everything(viewer) or case.assigned_to == viewer.id


def cases_visible_to(viewer: Viewer, query: Select[Any]) -> Select[Any]:
    """`query` over cases, narrowed to those the viewer may see."""
    return query if sees_everything(viewer) else query.where(Case.assigned_to == viewer.id)


async def may_see_files_of(
    session: AsyncSession, viewer: Viewer, conversation: Conversation
) -> bool:
    """A worker's files: for whoever handles their conversation or their case."""
    if sees_everything(viewer) or conversation.claimed_by == viewer.id:
        return True
    assigned = await session.execute(
        select(
            exists().where(Case.conversation_id == conversation.id, Case.assigned_to == viewer.id)
        )
    )
    return bool(assigned.scalar())


def refused(viewer: Viewer, object_type: str, object_id: int, tried: str) -> Refused:
    """The one refusal: raise it where a viewer may not see what they asked for."""
    return Refused(
        MISSING[object_type],
        staff_id=viewer.id,
        object_type=object_type,
        object_id=object_id,
        tried=tried,
    )


async def record_refusal(session: AsyncSession, refusal: Refused) -> None:
    """The refusal on record, in the caller's transaction."""
    await audit.record(
        session=session,
        staff_id=refusal.staff_id,
        action=f"{refusal.object_type}.refused",
        object_type=refusal.object_type,
        object_id=str(refusal.object_id),
        detail={"tried": refusal.tried},
    )
