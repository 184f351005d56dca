"""Signing in to the console: sessions, cookies, CSRF, lockout, limits per address, tokens."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from bot.staff import queries
from bot.staff.models import Role, Staff
from bot.staff.service import KEEP_SIGN_INS, LoginPolicy, SignIn, StaffAccounts
from core.database import sync_url
from core.settings import Settings
from tests.support.console import (
    PASSWORD,
    add_staff,
    audit_actions,
    csrf_of,
    hidden,
    sign_in,
    state_of,
)


def test_staff_sign_in_and_out(client: TestClient) -> None:
    add_staff(client, "mya", Role.AGENT)
    assert client.get("/api/me").status_code == 401
    page = client.get("/console/audit", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/console/login")

    signed = sign_in(client, "mya")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/console/cases"
    me = client.get("/api/me").json()
    assert me["username"] == "mya" and me["role"] == "agent" and not me["by_api_token"]

    out = client.post(
        "/console/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert client.get("/api/me").status_code == 401


def test_the_ended_session_cookie_no_longer_works(client: TestClient) -> None:
    add_staff(client, "mya", Role.AGENT)
    sign_in(client, "mya")
    cookie = client.cookies.get("hotline_console")
    assert cookie
    client.post("/console/logout", data={"csrf_token": csrf_of(client)})
    client.cookies.set("hotline_console", cookie)
    assert client.get("/api/me").status_code == 401


def test_session_cookie_flags_in_development(client: TestClient) -> None:
    add_staff(client, "mya", Role.AGENT)
    set_cookie = sign_in(client, "mya").headers["set-cookie"]
    assert "hotline_console=" in set_cookie
    assert "HttpOnly" in set_cookie
    assert "SameSite=strict" in set_cookie or "SameSite=Strict" in set_cookie
    assert "Secure" not in set_cookie


def test_session_cookie_is_secure_in_production(settings: Settings) -> None:
    production = settings.model_copy(update={"hotline_environment": "production"})
    with TestClient(create_app(production), base_url="https://testserver") as client:
        add_staff(client, "mya", Role.AGENT)
        set_cookie = sign_in(client, "mya").headers["set-cookie"]
        assert "HttpOnly" in set_cookie
        assert "Secure" in set_cookie
        assert "samesite=strict" in set_cookie.lower()


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: TestClient,
) -> None:
    add_staff(client, "mya", Role.AGENT)
    wrong_password = sign_in(client, "mya", "not the password")
    unknown_user = sign_in(client, "nobody", PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "hotline_console" not in client.cookies
    assert "Wrong username or password" in wrong_password.text


def test_wrong_passwords_lock_the_account_even_against_the_right_one(
    client: TestClient, settings: Settings
) -> None:
    staff_id = add_staff(client, "mya", Role.AGENT)
    for _ in range(settings.hotline_login_lock_after):
        assert sign_in(client, "mya", "guess guess guess").status_code == 401
    locked = sign_in(client, "mya", PASSWORD)
    assert locked.status_code == 401
    assert "hotline_console" not in client.cookies

    async def unlock() -> None:
        await state_of(client).accounts.unlock(staff_id=staff_id, by_staff_id=None)

    client.portal.call(unlock)
    assert sign_in(client, "mya", PASSWORD).status_code == 303


def test_a_lock_runs_out(settings: Settings) -> None:
    quick = settings.model_copy(update={"hotline_login_lock_minutes": 0.0})
    with TestClient(create_app(quick)) as client:
        add_staff(client, "mya", Role.AGENT)
        for _ in range(quick.hotline_login_lock_after):
            sign_in(client, "mya", "guess guess guess")
        # A lock of zero minutes has already run out.
        assert sign_in(client, "mya", PASSWORD).status_code == 303


def test_one_address_is_stopped_after_too_many_failures(settings: Settings) -> None:
    strict = settings.model_copy(update={"hotline_login_address_limit": 3})
    with TestClient(create_app(strict)) as client:
        add_staff(client, "mya", Role.AGENT)
        # Different usernames, so no account lock is involved.
        for name in ("a1", "a2", "a3"):
            assert sign_in(client, name, "whatever123").status_code == 401
        stopped = sign_in(client, "mya", PASSWORD)
        assert stopped.status_code == 429
        assert "hotline_console" not in client.cookies


def test_a_login_form_from_another_site_is_refused(client: TestClient) -> None:
    add_staff(client, "mya", Role.AGENT)
    forged = client.post(
        "/console/login",
        data={"username": "mya", "password": PASSWORD, "login_token": "made-up"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "hotline_console" not in client.cookies


def test_changes_without_the_csrf_token_are_refused(client: TestClient) -> None:
    add_staff(client, "ada", Role.ADMIN)
    sign_in(client, "ada")
    new = {"username": "kim", "display_name": "Kim", "role": "agent", "password": PASSWORD}
    refused = client.post("/api/staff", json=new)
    assert refused.status_code == 403
    wrong = client.post("/api/staff", json=new, headers={"X-CSRF-Token": "not-it"})
    assert wrong.status_code == 403
    form = client.post("/console/logout", data={"csrf_token": "not-it"}, follow_redirects=False)
    assert form.status_code == 403
    assert client.get("/api/me").status_code == 200

    accepted = client.post("/api/staff", json=new, headers={"X-CSRF-Token": csrf_of(client)})
    assert accepted.status_code == 201
    assert accepted.json()["username"] == "kim"


def test_console_pages_forbid_inline_scripts(client: TestClient) -> None:
    page = client.get("/console/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text


def test_an_api_token_works_until_revoked(client: TestClient) -> None:
    add_staff(client, "bot-sync", Role.SUPERVISOR)

    async def issue() -> str:
        return await state_of(client).accounts.create_api_token(
            username="bot-sync", name="referral partner"
        )

    token = client.portal.call(issue)
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == "bot-sync" and me.json()["by_api_token"]
    # Integrations need no CSRF token: a bearer token is never sent by a browser on its own.
    assert client.get("/api/staff", headers=headers).status_code == 403  # supervisor, not admin

    async def revoke() -> None:
        accounts = state_of(client).accounts
        (issued,) = await accounts.api_tokens_of("bot-sync")
        await accounts.revoke_api_token(token_id=issued.id)

    client.portal.call(revoke)
    assert client.get("/api/me", headers=headers).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Bearer hlt_made_up"}).status_code == 401


def test_an_api_token_stops_at_its_expiry_and_at_a_password_change(
    client: TestClient, database_url: str
) -> None:
    add_staff(client, "bot-sync", Role.SUPERVISOR)
    accounts = state_of(client).accounts

    async def issue(name: str) -> str:
        return await accounts.create_api_token(username="bot-sync", name=name)

    expiring, kept = client.portal.call(issue, "expiring"), client.portal.call(issue, "kept")
    for token in (expiring, kept):
        assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).is_success
    engine = create_engine(sync_url(database_url))
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE api_tokens SET expires_at = :past WHERE name = 'expiring'"),
            {"past": datetime.now(UTC) - timedelta(minutes=1)},
        )
    engine.dispose()
    assert client.get("/api/me", headers={"Authorization": f"Bearer {expiring}"}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": f"Bearer {kept}"}).is_success

    async def change_password() -> None:
        await accounts.change_password(username="bot-sync", password="a new long password")

    client.portal.call(change_password)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {kept}"}).status_code == 401


def test_a_read_only_api_token_reads_and_changes_nothing(client: TestClient) -> None:
    add_staff(client, "dashboard", Role.SUPERVISOR)

    async def issue(read_only: bool) -> str:
        return await state_of(client).accounts.create_api_token(
            username="dashboard", name=f"read only {read_only}", read_only=read_only
        )

    reading = {"Authorization": f"Bearer {client.portal.call(issue, True)}"}
    full = {"Authorization": f"Bearer {client.portal.call(issue, False)}"}
    assert client.get("/api/handoff/queue", headers=reading).status_code == 200
    claim = "/api/handoff/conversations/999999/claim"
    # The full token reaches the claim (no such conversation); the reading one is refused.
    assert client.post(claim, headers=full).status_code == 404
    assert client.post(claim, headers=reading).status_code == 403


def test_only_hashes_of_secrets_are_stored(client: TestClient, database_url: str) -> None:
    add_staff(client, "mya", Role.AGENT)
    sign_in(client, "mya")
    cookie = client.cookies.get("hotline_console")
    assert cookie
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            password_hash = connection.execute(text("SELECT password_hash FROM staff")).scalar_one()
            token_hash = connection.execute(
                text("SELECT token_hash FROM staff_sessions")
            ).scalar_one()
    finally:
        engine.dispose()
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert token_hash != cookie and token_hash == queries.secret_hash(cookie)


def test_the_login_page_sends_a_fresh_form_token(client: TestClient, tmp_path: Path) -> None:
    first = hidden(client.get("/console/login").text, "login_token")
    second = hidden(client.get("/console/login").text, "login_token")
    assert first != second


def test_the_console_starts_at_the_queue(client: TestClient) -> None:
    add_staff(client, "mya", Role.AGENT)
    sign_in(client, "mya")
    home = client.get("/console/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/console/queue"
    assert client.get("/console/queue").status_code == 200


def test_what_each_role_may_open(client: TestClient) -> None:
    for username, role in (("aye", Role.AGENT), ("sup", Role.SUPERVISOR), ("ada", Role.ADMIN)):
        add_staff(client, username, role)
    expected = {
        "aye": {"/console/cases": 200, "/console/staff": 403, "/console/audit": 403},
        "sup": {"/console/cases": 200, "/console/staff": 403, "/console/audit": 403},
        "ada": {"/console/cases": 200, "/console/staff": 200, "/console/audit": 200},
    }
    for username, pages in expected.items():
        client.cookies.clear()
        sign_in(client, username)
        seen = {path: client.get(path).status_code for path in pages}
        assert seen == pages, username
        nav = client.get("/console/cases").text
        assert ('href="/console/audit"' in nav) == (username == "ada")


def test_admins_manage_staff_through_the_api(client: TestClient, settings: Settings) -> None:
    add_staff(client, "ada", Role.ADMIN)
    kim = add_staff(client, "kim", Role.AGENT)
    for _ in range(settings.hotline_login_lock_after):
        sign_in(client, "kim", "guess guess guess")
    client.cookies.clear()
    sign_in(client, "ada")
    headers = {"X-CSRF-Token": csrf_of(client)}
    listed = {staff["username"]: staff for staff in client.get("/api/staff").json()}
    assert listed["kim"]["locked_until"] is not None

    unlocked = client.post(f"/api/staff/{kim}/unlock", headers=headers)
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
    promoted = client.patch(f"/api/staff/{kim}", json={"role": "supervisor"}, headers=headers)
    assert promoted.json()["role"] == "supervisor"
    myself = client.get("/api/me").json()["id"]
    refused = client.patch(f"/api/staff/{myself}", json={"active": False}, headers=headers)
    assert refused.status_code == 422

    client.cookies.clear()
    sign_in(client, "kim")
    assert client.get("/api/me").json()["role"] == "supervisor"
    kim_cookie = client.cookies.get("hotline_console")
    client.cookies.clear()
    sign_in(client, "ada")
    off = client.patch(
        f"/api/staff/{kim}", json={"active": False}, headers={"X-CSRF-Token": csrf_of(client)}
    )
    assert off.json()["active"] is False
    # A deactivated member's open session ends and they cannot sign in again.
    client.cookies.clear()
    client.cookies.set("hotline_console", kim_cookie or "")
    assert client.get("/api/me").status_code == 401
    client.cookies.clear()
    assert sign_in(client, "kim").status_code == 401


def test_the_api_is_documented_with_token_authentication(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/me", "/api/cases", "/api/cases/{case_id}", "/api/audit", "/api/staff"):
        assert path in paths, path
    assert "/console/login" not in paths  # pages are not part of the API
    tags = {tag["name"] for tag in schema["tags"]}
    assert {"staff", "cases", "audit"} <= tags
    assert paths["/api/cases"]["get"]["tags"] == ["cases"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["api_token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from `hotline staff token USERNAME NAME`.",
    }
    assert schemes["console_session"]["in"] == "cookie"
    assert {"api_token": []} in paths["/api/cases"]["get"]["security"]


def test_guesses_sent_in_parallel_are_all_counted(client: TestClient, settings: Settings) -> None:
    staff_id = add_staff(client, "mya", Role.AGENT)
    policy = LoginPolicy.from_settings(settings)
    sessions = state_of(client).sessions
    accounts = StaffAccounts(sessions=sessions, policy=policy)

    async def guess(number: int) -> SignIn:
        return await accounts.sign_in(
            username="mya", password=f"guess number {number}", address=f"10.0.0.{number}"
        )

    async def guesses() -> None:
        await asyncio.gather(*(guess(n) for n in range(policy.lock_after)))

    client.portal.call(guesses)

    async def lock() -> tuple[object, int]:
        async with sessions() as session:
            staff = await session.get(Staff, staff_id)
            assert staff is not None
            return staff.locked_until, staff.failed_logins

    locked_until, failed_logins = client.portal.call(lock)
    # Locked, and the count starts again for after the lock.
    assert locked_until is not None and failed_logins == 0
    assert sign_in(client, "mya").status_code == 401


def test_a_try_past_the_lock_among_tries_at_once_is_refused_even_with_the_password(
    client: TestClient, settings: Settings, database_url: str
) -> None:
    """Guesses sent at once are each counted before any password is
    checked: with as many in flight as the lock allows, one more is refused
    even if it has the password, and the account is locked."""
    add_staff(client, "mya", Role.AGENT)
    policy = LoginPolicy.from_settings(settings)
    engine = create_engine(sync_url(database_url))
    with engine.begin() as connection:
        # As many tries counted as the lock allows, their outcomes pending.
        connection.execute(
            text("UPDATE staff SET failed_logins = :n WHERE username = 'mya'"),
            {"n": policy.lock_after},
        )
    assert sign_in(client, "mya").status_code == 401
    with engine.connect() as connection:
        locked_until = connection.execute(
            text("SELECT locked_until FROM staff WHERE username = 'mya'")
        ).scalar_one()
    engine.dispose()
    assert locked_until is not None


def test_thirty_guesses_at_once_lock_the_account_once(
    client: TestClient, settings: Settings, database_url: str
) -> None:
    staff_id = add_staff(client, "mya", Role.AGENT)
    policy = LoginPolicy.from_settings(settings)
    accounts = StaffAccounts(sessions=state_of(client).sessions, policy=policy)

    async def tries() -> list[SignIn]:
        return await asyncio.gather(
            *(
                accounts.sign_in(username="mya", password=f"guess {n}", address=f"10.0.1.{n}")
                for n in range(30)
            )
        )

    assert not any(outcome.ok for outcome in client.portal.call(tries))
    assert audit_actions(client, "staff.locked", str(staff_id)) == [None]
    # Locked: the password itself is refused now.
    assert sign_in(client, "mya").status_code == 401


def test_guesses_at_once_from_one_address_stop_at_its_limit(
    client: TestClient, settings: Settings
) -> None:
    policy = LoginPolicy.from_settings(settings)
    accounts = StaffAccounts(sessions=state_of(client).sessions, policy=policy)
    guesses = policy.address_limit + 10

    async def tries() -> list[SignIn]:
        return await asyncio.gather(
            *(
                accounts.sign_in(username=f"guess{n}", password="wrong guess", address="10.0.2.1")
                for n in range(guesses)
            )
        )

    refusals = Counter(outcome.refused for outcome in client.portal.call(tries))
    assert refusals["wrong"] <= policy.address_limit
    assert refusals["address"] >= guesses - policy.address_limit


def test_old_sign_in_attempts_are_forgotten(
    client: TestClient, settings: Settings, database_url: str
) -> None:
    add_staff(client, "mya", Role.AGENT)
    sign_in(client, "nobody", "whatever123")
    engine = create_engine(sync_url(database_url))
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE login_attempts SET at = :old"),
            {"old": datetime.now(UTC) - KEEP_SIGN_INS - timedelta(hours=1)},
        )
    sign_in(client, "mya")
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT username FROM login_attempts")).scalars().all()
    engine.dispose()
    assert kept == ["mya"]
