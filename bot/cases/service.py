"""Cases as staff work on them: find, read, assign, move along, note, export.

Who reaches which case is decided in `bot/access.py` (agents: the cases
assigned to them; supervisors and admins: every case, and they assign).
`CaseWork` owns the units of work: each public method opens its own
transaction, reads and stages through `queries.py`, and writes the audit
entry of the view or change in the same transaction. A refused view is
recorded as well (by the console, in a transaction of its own), so an admin
can see who tried to read what.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import access
from bot.access import Viewer
from bot.cases import queries
from bot.cases.models import Case, CaseStatus, Note
from bot.cases.queries import LIST_LIMIT, CaseFile, CaseFilter
from bot.conversations.models import Attachment
from bot.staff import audit
from bot.staff.models import Staff
from core.errors import Forbidden


class CaseWork:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def list_cases(
        self, *, viewer: Viewer, wanted: CaseFilter, limit: int = LIST_LIMIT
    ) -> list[Case]:
        """The cases the viewer may see that match, newest first; the listing is audited."""
        async with self._sessions.begin() as session:
            cases = await queries.find_cases(
                session=session, viewer=viewer, wanted=wanted, limit=limit
            )
            await audit.record(
                session=session,
                staff_id=viewer.id,
                action="case.list",
                object_type="case",
                object_id=None,
                detail={"filter": wanted.as_detail(), "count": len(cases)},
            )
        return cases

    async def provinces_in_use(self) -> list[str]:
        """Provinces that cases name, for the filter's choices."""
        async with self._sessions() as session:
            return await queries.provinces_in_use(session=session)

    async def assignable_staff(self) -> Sequence[Staff]:
        async with self._sessions() as session:
            return await queries.assignable_staff(session=session)

    async def open_case(self, *, viewer: Viewer, case_id: int) -> CaseFile:
        """The case with its timeline, decrypted for the viewer; the view is audited."""
        async with self._sessions.begin() as session:
            case = await queries.case_for(
                session=session, viewer=viewer, case_id=case_id, action="view"
            )
            case_file = await queries.case_file(session=session, case=case)
            await audit.record(
                session=session,
                staff_id=viewer.id,
                action="case.view",
                object_type="case",
                object_id=str(case.id),
            )
        return case_file

    async def export_case(self, *, viewer: Viewer, case_id: int, form: str) -> CaseFile:
        """The case for a referral (`form`: json or pdf); the export is audited."""
        async with self._sessions.begin() as session:
            case = await queries.case_for(
                session=session, viewer=viewer, case_id=case_id, action=f"export.{form}"
            )
            case_file = await queries.case_file(session=session, case=case)
            await audit.record(
                session=session,
                staff_id=viewer.id,
                action="case.export",
                object_type="case",
                object_id=str(case.id),
                detail={"format": form},
            )
        return case_file

    async def assign(self, *, viewer: Viewer, case_id: int, staff_id: int | None) -> Case:
        """Give the case to a staff member (or to nobody). Supervisors and admins only."""
        if not access.sees_everything(viewer):
            raise Forbidden("only supervisors assign cases")
        async with self._sessions.begin() as session:
            case = await queries.case_for(
                session=session, viewer=viewer, case_id=case_id, action="assign"
            )
            previous = await queries.assign(
                session=session, viewer=viewer, case=case, staff_id=staff_id
            )
            await audit.record(
                session=session,
                staff_id=viewer.id,
                action="case.assign",
                object_type="case",
                object_id=str(case.id),
                detail={"from": previous, "to": staff_id},
            )
        return case

    async def set_status(self, *, viewer: Viewer, case_id: int, status: CaseStatus) -> Case:
        async with self._sessions.begin() as session:
            case = await queries.case_for(
                session=session, viewer=viewer, case_id=case_id, action="status"
            )
            previous = queries.move(session=session, viewer=viewer, case=case, status=status)
            await audit.record(
                session=session,
                staff_id=viewer.id,
                action="case.status",
                object_type="case",
                object_id=str(case.id),
                detail={"from": previous.value, "to": status.value},
            )
        return case

    async def add_note(self, *, viewer: Viewer, case_id: int, text: str) -> Note:
        """An internal note on the case; the worker never sees it. Stored encrypted."""
        text = queries.note_text(text)
        async with self._sessions.begin() as session:
            case = await queries.case_for(
                session=session, viewer=viewer, case_id=case_id, action="note"
            )
            note = await queries.add_note(session=session, viewer=viewer, case=case, text=text)
            # The audit entry names the note, never its words.
            await audit.record(
                session=session,
                staff_id=viewer.id,
                action="case.note",
                object_type="case",
                object_id=str(case.id),
                detail={"note_id": note.id},
            )
        return note

    async def attachment_for(self, *, viewer: Viewer, attachment_id: int) -> Attachment:
        """A worker's file, if the viewer may see it (`bot.access`); the view is audited."""
        async with self._sessions.begin() as session:
            attachment, conversation = await queries.attachment_with_conversation(
                session=session, attachment_id=attachment_id
            )
            if not await access.may_see_files_of(session, viewer, conversation):
                raise access.refused(viewer, "attachment", attachment.id, "view")
            await audit.record(
                session=session,
                staff_id=viewer.id,
                action="attachment.view",
                object_type="attachment",
                object_id=str(attachment.id),
                detail={"conversation_id": conversation.id},
            )
        return attachment
