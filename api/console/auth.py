"""Signing in to the console and out again, and choosing its language."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from api.console.deps import SESSION_COOKIE, CurrentStaff, client_address, optional_staff
from api.console.pages import SECURITY_HEADERS, render
from api.console_wording import COOKIE as LANGUAGE_COOKIE
from api.console_wording import COOKIE_SECONDS as LANGUAGE_COOKIE_SECONDS
from api.state import StateDep
from bot.staff.models import Role
from core.errors import CsrfRefused, TooManyAttempts
from core.translation import N_

router = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/api", tags=["staff"])

# Before sign-in there is no session to hold a CSRF token, so the login
# form carries a random value that must match this cookie (a forged
# cross-site form cannot read or set it).
LOGIN_COOKIE = "hotline_login"
HOME = "/console/"


def _safe_next(target: str | None) -> str:
    # Only paths inside the console: never an open redirect to another site.
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return HOME


def _secure_cookies(state: StateDep) -> bool:
    return state.settings.hotline_environment != "development"


def _login_page(
    request: Request, state: StateDep, *, next_path: str, error: str | None, status_code: int
) -> HTMLResponse:
    login_token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        caller=None,
        status_code=status_code,
        login_token=login_token,
        next_path=next_path,
        error=error,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        login_token,
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(state),
        path="/console/login",
        max_age=3600,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, state: StateDep, next: str | None = None) -> Response:
    if await optional_staff(request, state) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, state, next_path=_safe_next(next), error=None, status_code=200)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    state: StateDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    login_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = HOME,
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, login_token):
        raise CsrfRefused()
    outcome = await state.accounts.sign_in(
        username=username, password=password, address=client_address(request)
    )
    if not outcome.ok:
        if outcome.refused == "address":
            error, status_code = TooManyAttempts.default, 429
        else:
            error = N_("Wrong username or password, or the account is locked.")
            status_code = 401
        return _login_page(
            request, state, next_path=_safe_next(next), error=error, status_code=status_code
        )
    assert outcome.token is not None
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.headers.update(SECURITY_HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        outcome.token,
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(state),
        path="/",
        max_age=int(state.settings.hotline_session_hours * 3600),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console/login")
    if outcome.console_language in state.console_wording.languages:
        # The language they chose before, on any device.
        _keep_language(response, state, outcome.console_language)
    return response


@router.post("/logout")
async def logout(request: Request, state: StateDep, caller: CurrentStaff) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await state.accounts.sign_out(token=token)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(state),
    )
    return response


@router.post("/language")
async def choose_language(
    request: Request,
    state: StateDep,
    language: Annotated[str, Form(max_length=16)],
    next: Annotated[str, Form(max_length=500)] = HOME,
) -> Response:
    """The console's language: in this browser (a cookie), and for a signed-in
    staff member also on their account, so that it follows them to other devices."""
    # No session may exist yet, so no CSRF token: a form posted from another
    # site is refused by what the browser says of it (Sec-Fetch-Site; the
    # Origin is "null" here, as pages send no referrer). It could only
    # change a language.
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise CsrfRefused()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.headers.update(SECURITY_HEADERS)
    if language not in state.console_wording.languages:
        return response
    _keep_language(response, state, language)
    try:
        caller = await optional_staff(request, state)
    except CsrfRefused:
        # A sign-in cookie without its form token (the login page of a
        # browser still signed in): this browser's choice only.
        caller = None
    if caller is not None and not caller.by_api_token:
        await state.accounts.set_console_language(staff_id=caller.id, language=language)
    return response


def _keep_language(response: Response, state: StateDep, language: str) -> None:
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        httponly=True,
        samesite="lax",
        secure=_secure_cookies(state),
        path="/",
        max_age=LANGUAGE_COOKIE_SECONDS,
    )


@router.get("/", response_class=HTMLResponse)
async def home(caller: CurrentStaff) -> Response:
    # The queue is where staff start: workers waiting come first.
    return RedirectResponse("/console/queue", status_code=303)


class Me(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    by_api_token: bool
    # For the console's scripts: send it back as X-CSRF-Token. Other sites
    # cannot read this answer (no CORS), so it does not leak the token.
    csrf_token: str | None


@api.get("/me")
async def me(caller: CurrentStaff) -> Me:
    """The staff member the session cookie or API token belongs to."""
    return Me(
        id=caller.id,
        username=caller.username,
        display_name=caller.display_name,
        role=caller.role,
        by_api_token=caller.by_api_token,
        csrf_token=caller.csrf_token,
    )


routers = [router, api]
