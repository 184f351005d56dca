"""Two-factor sign-in, set up by each staff member on their own page.

`GET /console/two-factor` shows the secret being set up (as text, and as an
otpauth:// QR code drawn here as inline SVG: no outside service ever sees
the secret) and asks for a current code; the answer to the code shows the
ten recovery codes, once. Supervisors and admins (`HOTLINE_TOTP_REQUIRED_ROLES`)
who have not set it up are sent here and reach nothing else until they have.
Admins reset a staff member's two-factor sign-in on `/console/staff`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from api.console.deps import SettingUpStaff, SignedIn
from api.console.pages import render, wording_of
from api.state import StateDep
from bot.staff import two_factor
from core.errors import Forbidden, HotlineError

pages = APIRouter(prefix="/console/two-factor", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/"


def _by_session(caller: SignedIn) -> SignedIn:
    # Set up on the console by the staff member themselves, never by an integration.
    if caller.by_api_token:
        raise Forbidden()
    return caller


def qr_svg(uri: str) -> Markup:
    """The address as a QR code, an SVG element to put in the page (drawn here,
    no outside request; attributes only, so the console's CSP allows it)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", svgclass="qr", lineclass=None
    )
    # segno writes the SVG from the address alone (base32, a username of
    # [a-z0-9._-], the issuer), nothing a worker or a guesser typed.
    return Markup(svg)  # noqa: S704


async def _setup_page(
    request: Request,
    state: StateDep,
    caller: SignedIn,
    *,
    next_path: str,
    error: HotlineError | None = None,
) -> HTMLResponse:
    secret = await state.accounts.start_two_factor(staff_id=caller.id)
    uri = two_factor.provisioning_uri(secret, caller.username)
    return render(
        request,
        "two_factor.html",
        caller=caller,
        status_code=200 if error is None else 422,
        secret=two_factor.grouped(secret),
        qr=qr_svg(uri),
        next_path=next_path,
        error=None if error is None else wording_of(request)._(error.template, **error.values),
        required=caller.must_set_up_two_factor,
    )


@pages.get("", response_class=HTMLResponse)
async def setup_page(
    request: Request, state: StateDep, caller: SettingUpStaff, next: str | None = None
) -> Response:
    caller = _by_session(caller)
    current = await state.accounts.two_factor_state(caller.id)
    if current.since is not None:
        return render(
            request,
            "two_factor.html",
            caller=caller,
            on_since=current.since,
            recovery_codes_left=current.recovery_codes_left,
            next_path=_safe_next(next),
        )
    return await _setup_page(request, state, caller, next_path=_safe_next(next))


@pages.post("", response_class=HTMLResponse)
async def confirm(
    request: Request,
    state: StateDep,
    caller: SettingUpStaff,
    code: Annotated[str, Form(max_length=20)],
    next: Annotated[str, Form(max_length=500)] = "/console/",
) -> Response:
    caller = _by_session(caller)
    try:
        codes = await state.accounts.confirm_two_factor(staff_id=caller.id, code=code)
    except HotlineError as error:
        return await _setup_page(request, state, caller, next_path=_safe_next(next), error=error)
    # Shown once, in this answer (never cached: no-store); only hashes are kept.
    return render(
        request,
        "two_factor.html",
        caller=replace(caller, must_set_up_two_factor=False),
        recovery_codes=codes,
        next_path=_safe_next(next),
    )


routers = [pages]
