"""Two-factor sign-in in a real headless Chromium: a supervisor is sent to set it
up, reads the key off the page (an authenticator app would scan the QR code;
here pyotp works the codes out), confirms, and signs in with a code after.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from api.app import create_app
from bot.staff.models import Role
from core.settings import Settings
from tests.browser.conftest import served
from tests.browser.test_console_auth_cases import PASSWORD, Console

pytestmark = pytest.mark.browser


@pytest.fixture
def console(settings: Settings) -> Iterator[Console]:
    """The app as shipped: supervisors and admins must use two-factor sign-in."""
    shipped = settings.model_copy(update={"hotline_totp_required_roles": "supervisor,admin"})
    with served(create_app(shipped)) as url:
        yield Console(url=url, settings=shipped)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="en-US")
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, console: Console, username: str) -> None:
    page.goto(f"{console.url}/console/login?next=/console/cases")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_supervisor_sets_up_two_factor_sign_in_and_signs_in_with_a_code(
    console: Console, page: Page
) -> None:
    console.add_staff("somchai", Role.SUPERVISOR)
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(console.url) else elsewhere.append(request.url)
        ),
    )
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    sign_in(page, console, "somchai")
    # Sent to the setup, and nothing else opens until it is done.
    expect(page).to_have_url(f"{console.url}/console/two-factor?next=%2Fconsole%2Fcases")
    page.goto(f"{console.url}/console/queue")
    expect(page).to_have_url(f"{console.url}/console/two-factor?next=%2Fconsole%2Fqueue")
    expect(page.get_by_role("link", name="Queue")).to_have_count(0)

    # The QR code is drawn by the app, inline; the key is on the page as text.
    qr = page.locator(".qr-code svg")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 100  # type: ignore[index]
    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)

    page.get_by_label("The six-digit code the app shows now").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    expect(page.locator("[data-recovery-codes] li")).to_have_count(10)
    page.get_by_role("link", name="Continue to the console").click()
    expect(page).to_have_url(f"{console.url}/console/queue")

    page.get_by_role("button", name="Sign out Somchai").click()
    expect(page).to_have_url(f"{console.url}/console/login")

    sign_in(page, console, "somchai")
    expect(page).to_have_url(f"{console.url}/console/login/code?next=%2Fconsole%2Fcases")
    # The setup's code is taken: the next one (an authenticator a little
    # ahead is let in by a step) signs in.
    page.get_by_label("Code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.url}/console/cases")
    expect(page.get_by_role("link", name="Alarms")).to_be_visible()

    assert elsewhere == []
    assert refused == []
