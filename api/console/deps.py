"""Who is calling the console or its API, and what their role lets them do.

`CurrentStaff` is a staff member signed in with the console's session cookie
or an integration presenting `Authorization: Bearer <API token>`. Requests
that change something (POST, PUT, PATCH, DELETE) on a cookie session must
also carry the session's CSRF token, as the `X-CSRF-Token` header (the
console's scripts) or the `csrf_token` form field (the console's forms): a
cookie is sent by the browser on any site's behalf, a bearer token is not.

A console sign-in of a role that must use two-factor sign-in
(`HOTLINE_TOTP_REQUIRED_ROLES`) without it set up reaches nothing through
`CurrentStaff` (403, or a redirect to the setup page for pages) but its setup
page and signing out, which take `SettingUpStaff`. API tokens are separate
credentials and are not held back.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from api.state import StateDep
from bot import access
from bot.staff.errors import TwoFactorSetupRequired
from bot.staff.models import Role, Staff
from core.errors import CsrfRefused, Forbidden, NotSignedIn

SESSION_COOKIE = "hotline_console"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Each role may do what the roles before it may.
RANK = {Role.AGENT: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class SignedIn:
    """The staff member behind a request, read once per request."""

    id: int
    username: str
    display_name: str
    role: Role
    # The cookie session's CSRF token, for forms and scripts; None when the
    # caller used an API token.
    csrf_token: str | None
    session_id: int | None
    # A console sign-in that must set up two-factor sign-in before anything else.
    must_set_up_two_factor: bool = False

    @property
    def by_api_token(self) -> bool:
        return self.session_id is None

    def at_least(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]

    @property
    def sees_everything(self) -> bool:
        """Every conversation and case (`bot.access` decides)."""
        return access.sees_everything(self)


def _signed_in(
    staff: Staff,
    *,
    csrf_token: str | None,
    session_id: int | None,
    must_set_up_two_factor: bool = False,
) -> SignedIn:
    return SignedIn(
        id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        role=Role(staff.role),
        csrf_token=csrf_token,
        session_id=session_id,
        must_set_up_two_factor=must_set_up_two_factor,
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def _sent_csrf_token(request: Request) -> str | None:
    sent = request.headers.get(CSRF_HEADER)
    if sent:
        return sent
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        # Starlette keeps the parsed form on the request, so the endpoint's
        # own Form() parameters read the same one.
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def optional_staff(request: Request, state: StateDep) -> SignedIn | None:
    """The caller if signed in (and, for changes, with the right CSRF token), else None."""
    token = bearer_token(request)
    if token is not None:
        by_token = await state.accounts.staff_for_api_token(token)
        if by_token is None:
            return None
        staff, api_token = by_token
        if api_token.read_only and request.method not in SAFE_METHODS:
            raise Forbidden()
        return _signed_in(staff, csrf_token=None, session_id=None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = await state.accounts.session_for_token(cookie)
    if found is None:
        return None
    staff, staff_session = found
    if request.method not in SAFE_METHODS:
        sent = await _sent_csrf_token(request)
        if sent is None or not hmac.compare_digest(sent, staff_session.csrf_token):
            raise CsrfRefused()
    return _signed_in(
        staff,
        csrf_token=staff_session.csrf_token,
        session_id=staff_session.id,
        must_set_up_two_factor=state.accounts.must_set_up_two_factor(staff),
    )


# Declared so that the OpenAPI document (and /docs' "Authorize") shows how
# to call the API; `optional_staff` reads the same header and cookie.
API_TOKEN = HTTPBearer(
    auto_error=False,
    scheme_name="api_token",
    description="An API token from `hotline staff token USERNAME NAME`.",
)
CONSOLE_COOKIE = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="console_session",
    description="The console's sign-in; changes also need the X-CSRF-Token header.",
)


async def signed_in_staff(
    caller: Annotated[SignedIn | None, Depends(optional_staff)],
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(API_TOKEN)],
    _cookie: Annotated[str | None, Security(CONSOLE_COOKIE)],
) -> SignedIn:
    if caller is None:
        raise NotSignedIn()
    return caller


async def current_staff(caller: Annotated[SignedIn, Depends(signed_in_staff)]) -> SignedIn:
    if caller.must_set_up_two_factor:
        raise TwoFactorSetupRequired()
    return caller


CurrentStaff = Annotated[SignedIn, Depends(current_staff)]
# Signed in, whether or not two-factor sign-in must still be set up: only
# for its setup page and signing out.
SettingUpStaff = Annotated[SignedIn, Depends(signed_in_staff)]


def require_role(role: Role) -> Callable[[SignedIn], Awaitable[SignedIn]]:
    """A dependency letting through staff with `role` or a higher one."""

    async def check(caller: CurrentStaff) -> SignedIn:
        if not caller.at_least(role):
            raise Forbidden()
        return caller

    return check


SupervisorDep = Annotated[SignedIn, Depends(require_role(Role.SUPERVISOR))]
AdminDep = Annotated[SignedIn, Depends(require_role(Role.ADMIN))]


def client_address(request: Request) -> str:
    # uvicorn runs with proxy_headers, so behind a proxy this is the
    # forwarded address from a trusted proxy.
    return request.client.host if request.client else "unknown"
