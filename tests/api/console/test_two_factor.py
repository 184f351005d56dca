"""Two-factor sign-in for staff: TOTP with recovery codes, set up on the console,
required of supervisors and admins (`HOTLINE_TOTP_REQUIRED_ROLES`).

The service is driven as the console drives it (`state.accounts`), and the
console through its real endpoints; codes are worked out with pyotp, as an
authenticator app would.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from bot.staff.models import RecoveryCode, Role, Staff
from bot.staff.service import SignIn, StaffAccounts
from core.errors import InvalidInput
from core.settings import Settings, get_settings
from tests.support.console import (
    PASSWORD,
    add_staff,
    audit_actions,
    hidden,
    sign_in,
    state_of,
)

ADDRESS = "192.0.2.7"


@pytest.fixture
def required(settings: Settings) -> Iterator[TestClient]:
    """The app as shipped: supervisors and admins must use two-factor sign-in."""
    shipped = settings.model_copy(
        update={
            "hotline_totp_required_roles": Settings.model_fields[
                "hotline_totp_required_roles"
            ].default
        }
    )
    assert shipped.totp_required_roles == {"supervisor", "admin"}
    with TestClient(create_app(shipped)) as client:
        yield client


def accounts(client: TestClient) -> StaffAccounts:
    return state_of(client).accounts


def code_at(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator shows, now or a step (30 s) later."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def set_up(client: TestClient, staff_id: int) -> tuple[str, list[str]]:
    """Two-factor sign-in set up through the service: its secret and recovery codes."""

    async def go() -> tuple[str, list[str]]:
        secret = await accounts(client).start_two_factor(staff_id=staff_id)
        codes = await accounts(client).confirm_two_factor(staff_id=staff_id, code=code_at(secret))
        return secret, codes

    return client.portal.call(go)


def password_then_code(client: TestClient, username: str, code: str) -> SignIn:
    async def go() -> SignIn:
        first = await accounts(client).sign_in(
            username=username, password=PASSWORD, address=ADDRESS
        )
        assert first.pending is not None and not first.ok, first
        return await accounts(client).second_step(pending=first.pending, code=code, address=ADDRESS)

    return client.portal.call(go)


# The service


def test_setup_takes_a_current_code_and_keeps_the_secret_encrypted_and_codes_hashed(
    client: TestClient,
) -> None:
    staff_id = add_staff(client, "mya", Role.AGENT)

    async def start() -> str:
        return await accounts(client).start_two_factor(staff_id=staff_id)

    secret = client.portal.call(start)
    # Asked again before it is confirmed: the same secret, already in the app.
    assert client.portal.call(start) == secret

    async def confirm(code: str) -> list[str]:
        return await accounts(client).confirm_two_factor(staff_id=staff_id, code=code)

    wrong = f"{(int(code_at(secret)) + 1) % 1_000_000:06d}"
    with pytest.raises(InvalidInput):
        client.portal.call(confirm, wrong)
    codes = client.portal.call(confirm, code_at(secret))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code) for code in codes)

    async def stored() -> tuple[str, list[str]]:
        async with state_of(client).sessions() as session:
            raw = (
                await session.execute(
                    text("SELECT totp_secret FROM staff WHERE id = :id"), {"id": staff_id}
                )
            ).scalar_one()
            hashes = list(
                (
                    await session.execute(
                        select(RecoveryCode.code_hash).where(RecoveryCode.staff_id == staff_id)
                    )
                ).scalars()
            )
            return raw, hashes

    raw, hashes = client.portal.call(stored)
    assert secret not in raw and secret.lower() not in raw.lower()
    assert len(hashes) == 10 and not set(hashes) & set(codes)
    assert audit_actions(client, "staff.2fa_setup", str(staff_id)) == [staff_id]


def test_the_password_alone_does_not_sign_in_and_a_code_works_once(client: TestClient) -> None:
    staff_id = add_staff(client, "mya", Role.AGENT)
    secret, _ = set_up(client, staff_id)

    # The code that confirmed the setup does not sign in: its step is taken.
    assert password_then_code(client, "mya", code_at(secret)).refused == "code"
    # The next step's code (an authenticator a little ahead) does, once.
    later = code_at(secret, 1)
    signed = password_then_code(client, "mya", later)
    assert signed.ok and signed.staff_id == staff_id
    replayed = password_then_code(client, "mya", later)
    assert not replayed.ok and replayed.refused == "code"
    assert audit_actions(client, "login") == [staff_id]


def test_a_pending_sign_in_is_used_once_and_a_made_up_one_is_nothing(client: TestClient) -> None:
    staff_id = add_staff(client, "mya", Role.AGENT)
    secret, codes = set_up(client, staff_id)

    async def go() -> tuple[SignIn, SignIn, SignIn]:
        first = await accounts(client).sign_in(username="mya", password=PASSWORD, address=ADDRESS)
        assert first.pending is not None
        signed = await accounts(client).second_step(
            pending=first.pending, code=code_at(secret, 1), address=ADDRESS
        )
        again = await accounts(client).second_step(
            pending=first.pending, code=codes[0], address=ADDRESS
        )
        made_up = await accounts(client).second_step(
            pending="made-up", code=codes[1], address=ADDRESS
        )
        return signed, again, made_up

    signed, again, made_up = client.portal.call(go)
    assert signed.ok
    assert again.refused == made_up.refused == "expired"


def test_a_recovery_code_signs_in_once_and_is_audited(client: TestClient) -> None:
    staff_id = add_staff(client, "mya", Role.AGENT)
    _, codes = set_up(client, staff_id)

    # Typed in capitals with spaces: still the code.
    typed = codes[3].upper().replace("-", " ")
    assert password_then_code(client, "mya", typed).ok
    assert password_then_code(client, "mya", codes[3]).refused == "code"
    assert audit_actions(client, "staff.2fa_recovery_code", str(staff_id)) == [staff_id]

    async def left() -> int:
        return (await accounts(client).two_factor_state(staff_id)).recovery_codes_left

    assert client.portal.call(left) == 9


def test_wrong_codes_lock_the_account_like_wrong_passwords(
    client: TestClient, settings: Settings
) -> None:
    staff_id = add_staff(client, "mya", Role.AGENT)
    secret, _ = set_up(client, staff_id)
    assert settings.hotline_login_lock_after == 5

    async def guesses() -> list[SignIn]:
        first = await accounts(client).sign_in(username="mya", password=PASSWORD, address=ADDRESS)
        assert first.pending is not None
        outcomes = []
        # The right password counted one; four wrong codes make the five that lock.
        for guess in ("000000", "111111", "222222", "333333"):
            outcomes.append(
                await accounts(client).second_step(
                    pending=first.pending, code=guess, address=ADDRESS
                )
            )
        # Locked: the right code is refused too, and so is the right password.
        outcomes.append(
            await accounts(client).second_step(
                pending=first.pending, code=code_at(secret, 1), address=ADDRESS
            )
        )
        outcomes.append(
            await accounts(client).sign_in(username="mya", password=PASSWORD, address=ADDRESS)
        )
        return outcomes

    outcomes = client.portal.call(guesses)
    assert [o.refused for o in outcomes] == ["code"] * 5 + ["wrong"]
    assert audit_actions(client, "staff.locked", str(staff_id)) == [None]


def test_a_right_password_does_not_buy_fresh_guesses_at_the_code(client: TestClient) -> None:
    staff_id = add_staff(client, "mya", Role.AGENT)
    set_up(client, staff_id)

    async def rounds() -> None:
        # Password, two wrong codes; password, two wrong codes: the count
        # goes on across them, and the fifth failure on the account locks it.
        for _ in range(2):
            first = await accounts(client).sign_in(
                username="mya", password=PASSWORD, address=ADDRESS
            )
            assert first.pending is not None
            for guess in ("000000", "111111"):
                await accounts(client).second_step(
                    pending=first.pending, code=guess, address=ADDRESS
                )

    client.portal.call(rounds)
    assert audit_actions(client, "staff.locked", str(staff_id)) == [None]


def test_an_admin_resets_two_factor_sign_in_and_it_is_audited(client: TestClient) -> None:
    admin_id = add_staff(client, "ploy", Role.ADMIN)
    staff_id = add_staff(client, "mya", Role.AGENT)
    set_up(client, staff_id)

    async def reset() -> Staff:
        return await accounts(client).reset_two_factor(staff_id=staff_id, by_staff_id=admin_id)

    assert client.portal.call(reset).two_factor_since is None
    assert audit_actions(client, "staff.2fa_reset", str(staff_id)) == [admin_id]

    async def sign() -> SignIn:
        return await accounts(client).sign_in(username="mya", password=PASSWORD, address=ADDRESS)

    # An agent need not use it: the password alone signs in again.
    assert client.portal.call(sign).ok


# The console


def test_a_supervisor_without_it_reaches_only_the_setup_page(required: TestClient) -> None:
    client = required
    add_staff(client, "somchai", Role.SUPERVISOR)
    signed = sign_in(client, "somchai")
    assert signed.status_code == 303
    assert signed.headers["location"].startswith("/console/two-factor")

    for page in ("/console/cases", "/console/queue", "/console/alarms"):
        held = client.get(page, follow_redirects=False)
        assert held.status_code == 303
        assert held.headers["location"].startswith("/console/two-factor")
    assert client.get("/api/me").status_code == 403
    assert client.get("/api/cases").status_code == 403

    # API tokens are other credentials, not held back.
    async def token() -> str:
        return await accounts(client).create_api_token(username="somchai", name="dashboard")

    bearer = {"Authorization": f"Bearer {client.portal.call(token)}"}
    assert client.get("/api/cases", headers=bearer).status_code == 200

    setup = client.get("/console/two-factor")
    assert setup.status_code == 200
    # The QR code is drawn by the app, inline, with nothing fetched elsewhere.
    assert "<svg" in setup.text and "://" not in setup.text.split("<svg", 1)[1].split("</svg>")[0]
    assert "img-src 'self' data: blob:" in setup.headers["content-security-policy"]
    secret = secret_on(setup.text)
    wrong = client.post(
        "/console/two-factor",
        data={"code": "000000", "csrf_token": hidden(setup.text, "csrf_token")},
    )
    assert wrong.status_code == 422
    assert client.get("/api/me").status_code == 403

    confirmed = client.post(
        "/console/two-factor",
        data={"code": code_at(secret), "csrf_token": hidden(setup.text, "csrf_token")},
    )
    assert confirmed.status_code == 200
    codes = re.findall(r"<code>([a-z2-7-]{19})</code>", confirmed.text)
    assert len(codes) == 10
    assert client.get("/api/me").json()["username"] == "somchai"
    assert client.get("/console/cases").status_code == 200


def secret_on(page: str) -> str:
    found = re.search(r"data-totp-secret>([A-Z2-7 ]+)<", page)
    assert found, "no secret on the setup page"
    return found.group(1).replace(" ", "")


def test_sign_in_asks_for_the_code_on_a_second_page(required: TestClient) -> None:
    client = required
    staff_id = add_staff(client, "somchai", Role.SUPERVISOR)
    secret, codes = set_up(client, staff_id)

    first = sign_in(client, "somchai")
    assert first.status_code == 303
    assert first.headers["location"].startswith("/console/login/code")
    assert "hotline_console" not in client.cookies
    cookie = first.headers["set-cookie"]
    assert "hotline_second_step=" in cookie
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert "Path=/console/login" in cookie and "Max-Age=300" in cookie
    assert client.get("/api/me").status_code == 401

    page = client.get(first.headers["location"])
    assert page.status_code == 200
    wrong = client.post(
        "/console/login/code",
        data={"code": "123456", "login_token": hidden(page.text, "login_token")},
        follow_redirects=False,
    )
    assert wrong.status_code == 401
    assert "Wrong or used code" in wrong.text
    assert "hotline_console" not in client.cookies

    signed = client.post(
        "/console/login/code",
        data={
            "code": code_at(secret, 1),
            "login_token": hidden(wrong.text, "login_token"),
            "next": "/console/cases",
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/console/cases"
    assert client.get("/api/me").json()["username"] == "somchai"

    # A form without the page's token is refused, as the login form is.
    client.cookies.clear()
    sign_in(client, "somchai")
    forged = client.post("/console/login/code", data={"code": codes[0], "login_token": "x"})
    assert forged.status_code == 403


def test_the_code_page_without_a_pending_sign_in_sends_back_to_the_password(
    required: TestClient,
) -> None:
    client = required
    page = client.get("/console/login/code", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/console/login")
    # A made-up pending cookie is no sign-in.
    login = client.get("/console/login")
    client.cookies.set("hotline_second_step", "made-up", path="/console/login")
    posted = client.post(
        "/console/login/code",
        data={"code": "123456", "login_token": hidden(login.text, "login_token")},
    )
    assert posted.status_code == 401
    assert "sign in again" in posted.text


def test_an_agent_may_set_it_up_and_then_needs_it(required: TestClient) -> None:
    client = required
    add_staff(client, "mya", Role.AGENT)
    assert sign_in(client, "mya").headers["location"] == "/console/cases"
    setup = client.get("/console/two-factor")
    secret = secret_on(setup.text)
    client.post(
        "/console/two-factor",
        data={"code": code_at(secret), "csrf_token": hidden(setup.text, "csrf_token")},
    )
    on = client.get("/console/two-factor")
    assert "Recovery codes left: 10." in on.text
    client.cookies.clear()
    assert sign_in(client, "mya").headers["location"].startswith("/console/login/code")


def test_an_admin_resets_it_on_the_staff_page(required: TestClient) -> None:
    client = required
    admin_id = add_staff(client, "ploy", Role.ADMIN)
    set_up(client, admin_id)
    staff_id = add_staff(client, "somchai", Role.SUPERVISOR)
    secret, _ = set_up(client, staff_id)

    # The supervisor is signed in elsewhere.
    other = TestClient(client.app)
    other.__enter__()
    try:
        first = sign_in(other, "somchai")
        page = other.get(first.headers["location"])
        other.post(
            "/console/login/code",
            data={"code": code_at(secret, 1), "login_token": hidden(page.text, "login_token")},
        )
        assert other.get("/api/me").status_code == 200

        signed = sign_in(client, "ploy")
        page = client.get(signed.headers["location"])
        admin_secret = _secret_of(client, admin_id)
        client.post(
            "/console/login/code",
            data={
                "code": code_at(admin_secret, 1),
                "login_token": hidden(page.text, "login_token"),
            },
        )
        staff_page = client.get("/console/staff")
        assert f"/console/staff/{staff_id}/two-factor/reset" in staff_page.text
        reset = client.post(
            f"/console/staff/{staff_id}/two-factor/reset",
            data={"csrf_token": hidden(staff_page.text, "csrf_token")},
            follow_redirects=False,
        )
        assert reset.status_code == 303
        assert audit_actions(client, "staff.2fa_reset", str(staff_id)) == [admin_id]
        # Their sessions ended; signing in again leads to the setup.
        assert other.get("/api/me").status_code == 401
        again = sign_in(other, "somchai")
        assert again.headers["location"].startswith("/console/two-factor")
        listed = client.get("/api/staff").json()
        assert {m["username"]: m["two_factor"] for m in listed} == {
            "ploy": True,
            "somchai": False,
        }
    finally:
        other.__exit__(None, None, None)


def _secret_of(client: TestClient, staff_id: int) -> str:
    """The stored secret, decrypted by the app (the admin's phone, in this test)."""

    async def read() -> str:
        async with state_of(client).sessions() as session:
            secret = await session.scalar(select(Staff.totp_secret).where(Staff.id == staff_id))
            assert secret is not None
            return secret

    return client.portal.call(read)


def test_hotline_staff_reset_2fa(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff_id = add_staff(client, "somchai", Role.SUPERVISOR)
    set_up(client, staff_id)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.hotline_database_url)
    assert settings.hotline_encryption_keys is not None
    monkeypatch.setenv(
        "HOTLINE_ENCRYPTION_KEYS", settings.hotline_encryption_keys.get_secret_value()
    )
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(cli, ["staff", "reset-2fa", "somchai"])
        assert done.exit_code == 0, done.output
        assert "reset" in done.output
        unknown = CliRunner().invoke(cli, ["staff", "reset-2fa", "nobody"])
        assert unknown.exit_code == 1
    finally:
        get_settings.cache_clear()
    assert audit_actions(client, "staff.2fa_reset", str(staff_id)) == [None]
    # Required roles are off in this app: the password alone signs in now.
    assert sign_in(client, "somchai").headers["location"] == "/console/cases"
