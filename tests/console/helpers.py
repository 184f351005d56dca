"""Staff accounts and sign-ins for console tests, made through the real services."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from api.staff import service
from api.staff.models import Role
from api.state import AppState

PASSWORD = "correct horse battery"


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.hotline  # type: ignore[attr-defined]
    return state


def add_staff(client: TestClient, username: str, role: Role, password: str = PASSWORD) -> int:
    async def add() -> int:
        async with state_of(client).sessions() as session:
            staff = await service.create_staff(
                session=session,
                username=username,
                display_name=username.title(),
                role=role,
                password=password,
            )
            return staff.id

    return client.portal.call(add)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Post the login form as a browser would; returns the response (not followed)."""
    page = client.get("/console/login")
    assert page.status_code == 200
    return client.post(
        "/console/login",
        data={
            "username": username,
            "password": password,
            "login_token": hidden(page.text, "login_token"),
            "next": "/console/cases",
        },
        follow_redirects=False,
    )


def csrf_of(client: TestClient) -> str:
    """The CSRF token of the signed-in session, as the console's pages carry it."""
    token: str = client.get("/api/me").json()["csrf_token"]
    return token
