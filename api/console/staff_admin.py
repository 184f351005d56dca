"""Admins manage staff accounts: add, change role, deactivate, unlock, reset two-factor sign-in."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.console.deps import AdminDep
from api.console.pages import render
from api.state import StateDep
from bot.staff.models import Role, Staff
from bot.staff.queries import parse_role
from core.clock import utcnow
from core.errors import HotlineError

pages = APIRouter(prefix="/console/staff", include_in_schema=False)
api = APIRouter(prefix="/api/staff", tags=["staff"])


class StaffOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    locked_until: datetime | None
    created_at: datetime
    # Two-factor sign-in set up (its secret is never shown here).
    two_factor: bool

    @classmethod
    def of(cls, staff: Staff) -> StaffOut:
        return cls(
            id=staff.id,
            username=staff.username,
            display_name=staff.display_name,
            role=Role(staff.role),
            active=staff.active,
            locked_until=staff.locked_until,
            created_at=staff.created_at,
            two_factor=staff.two_factor_since is not None,
        )


class NewStaff(BaseModel):
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=100)
    role: Role
    password: str = Field(max_length=1000)


class StaffChange(BaseModel):
    role: Role | None = None
    active: bool | None = None


@pages.get("", response_class=HTMLResponse)
async def staff_page(
    request: Request, state: StateDep, caller: AdminDep, error: str | None = None
) -> HTMLResponse:
    members = await state.accounts.all_staff()
    return render(
        request,
        "staff.html",
        caller=caller,
        members=members,
        roles=list(Role),
        now=utcnow(),
        error=error,
    )


def _back(error: HotlineError | None = None) -> Response:
    if error is None:
        return RedirectResponse("/console/staff", status_code=303)
    # The message is the service's own wording (no worker data); escaped
    # again when the page renders it.
    query = urlencode({"error": error.message})
    return RedirectResponse(f"/console/staff?{query}", status_code=303)


@pages.post("")
async def add_staff_form(
    state: StateDep,
    caller: AdminDep,
    username: Annotated[str, Form(max_length=64)],
    display_name: Annotated[str, Form(max_length=100)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    try:
        await state.accounts.create_staff(
            username=username.strip().lower(),
            display_name=display_name,
            role=parse_role(role),
            password=password,
            by_staff_id=caller.id,
        )
    except HotlineError as error:
        return _back(error)
    return _back()


@pages.post("/{staff_id}/role")
async def role_form(
    state: StateDep, caller: AdminDep, staff_id: int, role: Annotated[str, Form(max_length=16)]
) -> Response:
    await state.accounts.set_role(staff_id=staff_id, role=parse_role(role), by_staff_id=caller.id)
    return _back()


@pages.post("/{staff_id}/active")
async def active_form(
    state: StateDep, caller: AdminDep, staff_id: int, active: Annotated[str, Form(max_length=5)]
) -> Response:
    try:
        await state.accounts.set_active(
            staff_id=staff_id, active=active == "true", by_staff_id=caller.id
        )
    except HotlineError as error:
        return _back(error)
    return _back()


@pages.post("/{staff_id}/unlock")
async def unlock_form(state: StateDep, caller: AdminDep, staff_id: int) -> Response:
    await state.accounts.unlock(staff_id=staff_id, by_staff_id=caller.id)
    return _back()


@pages.post("/{staff_id}/two-factor/reset")
async def reset_two_factor_form(state: StateDep, caller: AdminDep, staff_id: int) -> Response:
    await state.accounts.reset_two_factor(staff_id=staff_id, by_staff_id=caller.id)
    return _back()


@api.get("")
async def list_staff(state: StateDep, caller: AdminDep) -> list[StaffOut]:
    """Every staff account (admins)."""
    return [StaffOut.of(staff) for staff in await state.accounts.all_staff()]


@api.post("", status_code=201)
async def add_staff(state: StateDep, caller: AdminDep, new: NewStaff) -> StaffOut:
    """Add a staff account (admins)."""
    staff = await state.accounts.create_staff(
        username=new.username,
        display_name=new.display_name,
        role=new.role,
        password=new.password,
        by_staff_id=caller.id,
    )
    return StaffOut.of(staff)


@api.patch("/{staff_id}")
async def change_staff(
    state: StateDep, caller: AdminDep, staff_id: int, change: StaffChange
) -> StaffOut:
    """Change a staff member's role or deactivate/reactivate them (admins)."""
    if change.role is not None:
        await state.accounts.set_role(staff_id=staff_id, role=change.role, by_staff_id=caller.id)
    if change.active is not None:
        await state.accounts.set_active(
            staff_id=staff_id, active=change.active, by_staff_id=caller.id
        )
    staff = await state.accounts.member(staff_id)
    assert staff is not None
    return StaffOut.of(staff)


@api.post("/{staff_id}/unlock")
async def unlock_staff(state: StateDep, caller: AdminDep, staff_id: int) -> StaffOut:
    """Lift a lock after failed sign-ins (admins)."""
    return StaffOut.of(await state.accounts.unlock(staff_id=staff_id, by_staff_id=caller.id))


@api.post("/{staff_id}/two-factor/reset")
async def reset_two_factor(state: StateDep, caller: AdminDep, staff_id: int) -> StaffOut:
    """Turn a staff member's two-factor sign-in off, after a lost phone (admins);
    their sessions end."""
    return StaffOut.of(
        await state.accounts.reset_two_factor(staff_id=staff_id, by_staff_id=caller.id)
    )


routers = [pages, api]
