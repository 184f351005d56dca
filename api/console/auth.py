"""Signing in to the console and out again, and choosing its language.

An account with two-factor sign-in gives its code on a second page: a right
password gets a pending sign-in, named by a random token in a cookie
(HttpOnly, SameSite=Strict, five minutes, only for `/console/login`) and
kept server-side as its hash; the session starts only with the code.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from api.console.deps import (
    SESSION_COOKIE,
    CurrentStaff,
    SettingUpStaff,
    client_address,
    optional_staff,
)
from api.console.pages import SECURITY_HEADERS, render
from api.console_wording import COOKIE as LANGUAGE_COOKIE
from api.console_wording import COOKIE_SECONDS as LANGUAGE_COOKIE_SECONDS
from api.state import StateDep
from bot.staff.models import Role
from bot.staff.service import SECOND_STEP_LIFETIME, SignIn
from core.errors import CsrfRefused, TooManyAttempts
from core.translation import N_

router = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/api", tags=["staff"])

# Before sign-in there is no session to hold a CSRF token, so the login
# form carries a random value that must match this cookie (a forged
# cross-site form cannot read or set it).
LOGIN_COOKIE = "hotline_login"
# A sign-in whose password was right, waiting for its code.
SECOND_STEP_COOKIE = "hotline_second_step"
LOGIN_PATH = "/console/login"
HOME = "/console/"
SETUP = "/console/two-factor"


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
    _set_login_cookie(response, state, login_token)
    return response


def _code_page(
    request: Request, state: StateDep, *, next_path: str, error: str | None, status_code: int
) -> HTMLResponse:
    login_token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login_code.html",
        caller=None,
        status_code=status_code,
        login_token=login_token,
        next_path=next_path,
        error=error,
    )
    _set_login_cookie(response, state, login_token)
    return response


def _set_login_cookie(response: Response, state: StateDep, login_token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        login_token,
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(state),
        path=LOGIN_PATH,
        max_age=3600,
    )


def _signed_in_response(state: StateDep, outcome: SignIn, next_path: str) -> Response:
    """Where a sign-in goes once its session is made, with the session's cookie."""
    assert outcome.token is not None
    target = (
        f"{SETUP}?{urlencode({'next': next_path})}" if outcome.must_set_up_two_factor else next_path
    )
    response = RedirectResponse(target, status_code=303)
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
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    response.delete_cookie(SECOND_STEP_COOKIE, path=LOGIN_PATH)
    if outcome.console_language in state.console_wording.languages:
        # The language they chose before, on any device.
        _keep_language(response, state, outcome.console_language)
    return response


def _check_login_token(request: Request, login_token: str) -> None:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, login_token):
        raise CsrfRefused()


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
    _check_login_token(request, login_token)
    outcome = await state.accounts.sign_in(
        username=username, password=password, address=client_address(request)
    )
    if outcome.pending is not None:
        # The password was right; the session waits for the code.
        response = RedirectResponse(
            f"{LOGIN_PATH}/code?{urlencode({'next': _safe_next(next)})}", status_code=303
        )
        response.headers.update(SECURITY_HEADERS)
        response.set_cookie(
            SECOND_STEP_COOKIE,
            outcome.pending,
            httponly=True,
            samesite="strict",
            secure=_secure_cookies(state),
            path=LOGIN_PATH,
            max_age=int(SECOND_STEP_LIFETIME.total_seconds()),
        )
        return response
    if not outcome.ok:
        if outcome.refused == "address":
            error, status_code = TooManyAttempts.default, 429
        else:
            error = N_("Wrong username or password, or the account is locked.")
            status_code = 401
        return _login_page(
            request, state, next_path=_safe_next(next), error=error, status_code=status_code
        )
    return _signed_in_response(state, outcome, _safe_next(next))


@router.get("/login/code", response_class=HTMLResponse)
async def code_page(request: Request, state: StateDep, next: str | None = None) -> Response:
    """The second step: a code from the authenticator, or a recovery code."""
    if not request.cookies.get(SECOND_STEP_COOKIE):
        return RedirectResponse(
            f"{LOGIN_PATH}?{urlencode({'next': _safe_next(next)})}", status_code=303
        )
    return _code_page(request, state, next_path=_safe_next(next), error=None, status_code=200)


@router.post("/login/code", response_class=HTMLResponse)
async def give_code(
    request: Request,
    state: StateDep,
    code: Annotated[str, Form(max_length=100)],
    login_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = HOME,
) -> Response:
    _check_login_token(request, login_token)
    pending = request.cookies.get(SECOND_STEP_COOKIE, "")
    outcome = (
        await state.accounts.second_step(
            pending=pending, code=code, address=client_address(request)
        )
        if pending
        else SignIn(refused="expired")
    )
    if outcome.ok:
        return _signed_in_response(state, outcome, _safe_next(next))
    if outcome.refused == "expired":
        response = _login_page(
            request,
            state,
            next_path=_safe_next(next),
            error=N_("The code did not come within five minutes: sign in again."),
            status_code=401,
        )
        response.delete_cookie(SECOND_STEP_COOKIE, path=LOGIN_PATH)
        return response
    if outcome.refused == "address":
        error, status_code = TooManyAttempts.default, 429
    else:
        error = N_("Wrong or used code, or the account is locked.")
        status_code = 401
    return _code_page(
        request, state, next_path=_safe_next(next), error=error, status_code=status_code
    )


@router.post("/logout")
async def logout(request: Request, state: StateDep, caller: SettingUpStaff) -> Response:
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
