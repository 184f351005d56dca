"""The staff console (`/console`, pages) and the HTTP API under it (`/api`).

`install(app)` mounts both, serves the console's static files and answers the
hotline's errors (`core.errors`, with their statuses from `api.errors`) in
one place.
See README.md in this folder for how the parts fit.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.console import (
    alarms,
    audit_log,
    auth,
    cases,
    deletions,
    handoff,
    staff_admin,
    stats,
    two_factor,
)
from api.console.pages import SECURITY_HEADERS, STATIC_DIR, render, wording_of
from api.errors import status_of
from api.state import AppState
from bot import access
from bot.staff.errors import TwoFactorSetupRequired
from core.errors import HotlineError, NotSignedIn, Refused

API_PREFIX = "/api/"
CONSOLE_PREFIX = "/console/"

OPENAPI_TAGS = [
    {"name": "staff", "description": "Who is signed in; staff accounts (admins)."},
    {"name": "cases", "description": "Reports of abuse: list, read, assign, notes, export."},
    {"name": "audit", "description": "The audit log (admins); read only."},
    {"name": "danger", "description": "Danger alarms and what raised them (supervisors)."},
    {"name": "privacy", "description": "Workers' requests to delete their data (supervisors)."},
    {
        "name": "stats",
        "description": "Counts for supervisors: messages, workers, intents, handoff times; CSV.",
    },
    {
        "name": "handoff",
        "description": "The staff queue, claiming, live chat with workers, closing; live events.",
    },
]


class ApiHeaders:
    """Adds the console's protective headers to every `/api/` and `/console/` answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith((API_PREFIX, CONSOLE_PREFIX)):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.lower().encode(), value.encode())
                    for name, value in SECURITY_HEADERS.items()
                    if name.lower().encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _console_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HotlineError)
    if isinstance(error, Refused):
        # On record in a transaction of its own: the one that asked is gone.
        state: AppState = request.app.state.hotline
        async with state.sessions.begin() as session:
            await access.record_refusal(session, error)
    path = request.url.path
    message = wording_of(request)._(error.template, **error.values)
    if path.startswith(CONSOLE_PREFIX):
        if isinstance(error, NotSignedIn) and request.method == "GET":
            return RedirectResponse(
                f"/console/login?{urlencode({'next': request.url.path})}", status_code=303
            )
        if isinstance(error, TwoFactorSetupRequired) and request.method == "GET":
            return RedirectResponse(
                f"/console/two-factor?{urlencode({'next': request.url.path})}", status_code=303
            )
        return render(
            request,
            "error.html",
            caller=None,
            status_code=status_of(error),
            message=message,
        )
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotSignedIn) else None
    return JSONResponse({"detail": message}, status_code=status_of(error), headers=headers)


def install(app: FastAPI) -> None:
    app.openapi_tags = [*(app.openapi_tags or []), *OPENAPI_TAGS]
    app.add_exception_handler(HotlineError, _console_error)
    app.add_middleware(ApiHeaders)
    for module in (
        auth,
        two_factor,
        handoff,
        cases,
        alarms,
        deletions,
        staff_admin,
        audit_log,
        stats,
    ):
        for router in module.routers:
            app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
