"""Cases in the console and the API: list and filter, the case page, changes, exports, files."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.console.deps import CurrentStaff, SignedIn
from api.console.pages import render, wording_of
from api.state import AppState, StateDep
from bot.cases import export
from bot.cases.indicators import ForcedLabourIndicators
from bot.cases.models import Case, CaseStatus
from bot.cases.queries import MAX_NOTE_CHARS, NEXT_STATUSES, CaseFile, CaseFilter
from bot.labels import WORKER_LANGUAGES
from core.clock import utcnow
from core.errors import InvalidInput

pages = APIRouter(prefix="/console/cases", include_in_schema=False)
api = APIRouter(prefix="/api", tags=["cases"])

# Shown inline in the console; anything else is offered as a download, so a
# file claiming to be a web page can never run in the console's origin.
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "audio/", "video/")
# Photos drawn into a referral PDF.
PRINTABLE_IMAGES = frozenset({"image/jpeg", "image/png"})


@cache
def _indicators(content_dir: Path) -> ForcedLabourIndicators:
    return ForcedLabourIndicators(content_dir / "forced_labour_indicators.yml")


def indicators_of(state: AppState) -> ForcedLabourIndicators:
    return _indicators(state.settings.hotline_content_dir)


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("dates are written YYYY-MM-DD") from None


def _status(value: str | None) -> CaseStatus | None:
    if not value:
        return None
    try:
        return CaseStatus(value)
    except ValueError:
        raise InvalidInput(
            "a status is one of %(statuses)s", statuses=", ".join(s.value for s in CaseStatus)
        ) from None


FilterText = Annotated[str | None, Query(max_length=64)]


def _case_filter(
    status: str | None,
    kind: str | None,
    province: str | None,
    language: str | None,
    since: str | None,
    until: str | None,
) -> CaseFilter:
    return CaseFilter(
        status=_status(status),
        kind=kind or None,
        province=province or None,
        language=language or None,
        since=_day(since),
        until=_day(until),
    )


class CaseSummary(BaseModel):
    id: int
    reference: str | None
    kind: str
    status: CaseStatus
    province: str | None
    language: str
    channel: str
    in_danger: bool
    assigned_to: int | None
    created_at: datetime

    @classmethod
    def of(cls, case: Case) -> CaseSummary:
        return cls(
            id=case.id,
            reference=case.reference,
            kind=case.kind,
            status=CaseStatus(case.status),
            province=case.province,
            language=case.language,
            channel=case.channel,
            in_danger=case.in_danger,
            assigned_to=case.assigned_to,
            created_at=case.created_at,
        )


class Assignment(BaseModel):
    staff_id: int | None


class StatusChange(BaseModel):
    status: CaseStatus


class NewNote(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


# Pages


@pages.get("", response_class=HTMLResponse)
async def cases_page(
    request: Request,
    state: StateDep,
    caller: CurrentStaff,
    status: FilterText = None,
    kind: FilterText = None,
    province: FilterText = None,
    language: FilterText = None,
    since: FilterText = None,
    until: FilterText = None,
) -> HTMLResponse:
    wanted = _case_filter(status, kind, province, language, since, until)
    provinces = await state.cases.provinces_in_use()
    found = await state.cases.list_cases(viewer=caller, wanted=wanted)
    return render(
        request,
        "cases.html",
        caller=caller,
        cases=found,
        query={
            "status": status or "",
            "kind": kind or "",
            "province": province or "",
            "language": language or "",
            "since": since or "",
            "until": until or "",
        },
        statuses=list(CaseStatus),
        kinds=sorted(indicators_of(state).kinds),
        provinces=provinces,
        languages=WORKER_LANGUAGES,
    )


@pages.get("/{case_id}", response_class=HTMLResponse)
async def case_page(
    request: Request, state: StateDep, caller: CurrentStaff, case_id: int
) -> HTMLResponse:
    case_file = await state.cases.open_case(viewer=caller, case_id=case_id)
    active_staff = await state.cases.assignable_staff()
    # Everyone reads who a case went to; only supervisors assign it.
    assignable = active_staff if caller.sees_everything else []
    indicators = indicators_of(state)
    return render(
        request,
        "case.html",
        caller=caller,
        file=case_file,
        case=case_file.case,
        next_statuses=sorted(
            NEXT_STATUSES[CaseStatus(case_file.case.status)], key=list(CaseStatus).index
        ),
        assignable=assignable,
        staff_names={member.id: member.display_name for member in active_staff},
        indicator_source=indicators.source,
        languages=WORKER_LANGUAGES,
        inline_types=INLINE_TYPES,
    )


def _back_to(case_id: int) -> Response:
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


@pages.post("/{case_id}/status")
async def status_form(
    state: StateDep,
    caller: CurrentStaff,
    case_id: int,
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    new_status = _status(status)
    if new_status is None:
        raise InvalidInput("choose a status")
    await state.cases.set_status(viewer=caller, case_id=case_id, status=new_status)
    return _back_to(case_id)


@pages.post("/{case_id}/assign")
async def assign_form(
    state: StateDep,
    caller: CurrentStaff,
    case_id: int,
    staff_id: Annotated[str, Form(max_length=12)],
) -> Response:
    try:
        assignee = int(staff_id) if staff_id else None
    except ValueError:
        raise InvalidInput("choose a staff member") from None
    await state.cases.assign(viewer=caller, case_id=case_id, staff_id=assignee)
    return _back_to(case_id)


@pages.post("/{case_id}/notes")
async def note_form(
    state: StateDep,
    caller: CurrentStaff,
    case_id: int,
    text: Annotated[str, Form(max_length=MAX_NOTE_CHARS)],
) -> Response:
    await state.cases.add_note(viewer=caller, case_id=case_id, text=text)
    return _back_to(case_id)


# API


@api.get("/cases")
async def list_cases(
    state: StateDep,
    caller: CurrentStaff,
    status: CaseStatus | None = None,
    kind: FilterText = None,
    province: FilterText = None,
    language: FilterText = None,
    since: date | None = None,
    until: date | None = None,
) -> list[CaseSummary]:
    """Cases the caller may see (agents: assigned to them), newest first."""
    wanted = CaseFilter(
        status=status, kind=kind, province=province, language=language, since=since, until=until
    )
    found = await state.cases.list_cases(viewer=caller, wanted=wanted)
    return [CaseSummary.of(case) for case in found]


def _document(
    state: AppState, caller: SignedIn, case_file: CaseFile, *, referral: bool
) -> dict[str, Any]:
    """The case as staff who handle it read it, or (`referral`) as it may leave
    the hotline: with the worker's contact details only if they agreed."""
    indicators = indicators_of(state)
    return export.as_document(
        case_file,
        indicator_names=indicators.names,
        indicator_source=indicators.source,
        exported_by=caller.username,
        exported_at=utcnow(),
        phones=state.phone_numbers,
        with_contact=case_file.case.consent_to_share or not referral,
    )


@api.get("/cases/{case_id}")
async def read_case(state: StateDep, caller: CurrentStaff, case_id: int) -> dict[str, Any]:
    """The case with its answers, contact details, indicators and timeline (messages
    decrypted), as the case page shows it. Audited."""
    case_file = await state.cases.open_case(viewer=caller, case_id=case_id)
    return {"id": case_id, **_document(state, caller, case_file, referral=False)}


@api.post("/cases/{case_id}/assign")
async def assign_case(
    state: StateDep, caller: CurrentStaff, case_id: int, assignment: Assignment
) -> CaseSummary:
    """Assign the case to a staff member, or to nobody (supervisors and admins)."""
    case = await state.cases.assign(viewer=caller, case_id=case_id, staff_id=assignment.staff_id)
    return CaseSummary.of(case)


@api.post("/cases/{case_id}/status")
async def change_status(
    state: StateDep, caller: CurrentStaff, case_id: int, change: StatusChange
) -> CaseSummary:
    """Move the case along: new, in_progress, referred, closed (closed cases can reopen)."""
    case = await state.cases.set_status(viewer=caller, case_id=case_id, status=change.status)
    return CaseSummary.of(case)


@api.post("/cases/{case_id}/notes", status_code=201)
async def add_note(
    state: StateDep, caller: CurrentStaff, case_id: int, note: NewNote
) -> dict[str, int]:
    """An internal note; the worker never sees it."""
    added = await state.cases.add_note(viewer=caller, case_id=case_id, text=note.text)
    return {"id": added.id}


async def _export(
    state: AppState, caller: SignedIn, case_id: int, form: str
) -> tuple[str, CaseFile, dict[str, Any]]:
    case_file = await state.cases.export_case(viewer=caller, case_id=case_id, form=form)
    name = case_file.case.reference or f"case-{case_id}"
    return name, case_file, _document(state, caller, case_file, referral=True)


@api.get("/cases/{case_id}/export.json")
async def export_json(state: StateDep, caller: CurrentStaff, case_id: int) -> Response:
    """The case as a JSON document for a referral: the worker's contact details, and
    the messages and notes that carry a phone number, only if they agreed. Audited."""
    name, _, document = await _export(state, caller, case_id, "json")
    return Response(
        export.as_json(document),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
    )


@api.get("/cases/{case_id}/export.pdf")
async def export_pdf(
    request: Request, state: StateDep, caller: CurrentStaff, case_id: int
) -> Response:
    """The case as a PDF for a referral, in every script the worker may write, its
    own words in the staff member's language. Audited."""
    name, case_file, document = await _export(state, caller, case_id, "pdf")
    images = {
        ref.id: state.attachments.read(ref.storage_key)
        for entry in case_file.timeline
        for ref in entry.attachments
        if ref.content_type in PRINTABLE_IMAGES
    }
    return Response(
        export.as_pdf(
            document,
            fonts_dir=state.settings.hotline_pdf_fonts_dir,
            images=images,
            say=wording_of(request)._,
        ),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


@api.get("/attachments/{attachment_id}")
async def attachment(state: StateDep, caller: CurrentStaff, attachment_id: int) -> Response:
    """A worker's photo, voice note or file, decrypted, for staff who handle it. Audited."""
    stored = await state.cases.attachment_for(viewer=caller, attachment_id=attachment_id)
    content = state.attachments.read(stored.storage_key)
    inline = stored.content_type.startswith(INLINE_TYPES)
    disposition = "inline" if inline else "attachment"
    return Response(
        content,
        media_type=stored.content_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="file-{stored.id}"',
            "X-Content-Type-Options": "nosniff",
            # Even opened on its own, the file can run nothing.
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "no-store",
        },
    )


routers = [pages, api]
