"""A supervisor reads the dashboard on a phone: charts drawn by the app's own
Chart.js, the CSV downloaded, a screenshot kept; an agent is refused.

Real engine and app (the suite's stack), headless Chromium at a phone's width.
"""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from core.settings import PROJECT_ROOT
from tests.support.stack import APP_BIN, Stack

pytestmark = [pytest.mark.browser, pytest.mark.engine]

PASSWORD = "a long supervisor password"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 375, "height": 800}, locale="en-US", accept_downloads=True
    )
    page = context.new_page()
    yield page
    context.close()


def add_staff(stack: Stack, username: str, role: str) -> None:
    added = subprocess.run(
        [
            str(APP_BIN / "hotline"),
            *("staff", "add", username, "--role", role),
            *("--name", username.title(), "--password-stdin"),
        ],
        input=PASSWORD + "\n",
        env=stack.environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode == 0, added.stderr + added.stdout


def sign_in(page: Page, stack: Stack, username: str) -> None:
    page.goto(f"{stack.app_url}/console/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Queue")


def test_a_supervisor_reads_the_dashboard_and_an_agent_is_refused(
    stack: Stack, phone: Page, tmp_path: Path
) -> None:
    # A worker asks something the engine understands: the dashboard counts it.
    cookies = httpx.Cookies()
    for text in ("hello", "what is minimum wage in Samut Sakhon"):
        answer = httpx.post(
            f"{stack.app_url}/webchat/messages", json={"text": text}, cookies=cookies, timeout=60
        )
        assert answer.status_code == 200, answer.text
        cookies.update(answer.cookies)
    add_staff(stack, "stats-sup", "supervisor")
    add_staff(stack, "stats-agent", "agent")
    problems: list[str] = []

    def console_error(message: ConsoleMessage) -> None:
        # The browser's own look for /favicon.ico (the console has none) aside.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            problems.append(f"{message.text} {message.location['url']}")

    phone.on("console", console_error)
    phone.on("pageerror", lambda error: problems.append(str(error)))

    sign_in(phone, stack, "stats-sup")
    phone.get_by_role("link", name="Statistics").click()
    expect(phone.locator("h1")).to_have_text("Statistics")
    for chart in ("series", "intents", "languages", "channels"):
        expect(phone.locator(f"#chart-{chart}")).to_have_attribute("data-drawn", "true")
    # Drawn, not blank: Chart.js sized the canvas to the phone's width.
    width = phone.locator("#chart-intents").evaluate("canvas => canvas.clientWidth")
    assert 250 < width <= 375
    assert int(phone.locator('[data-figure="messages"]').inner_text()) >= 2
    phone.locator("#table-intents").evaluate("table => table.closest('details').open = true")
    expect(
        phone.locator('#table-intents tr[data-intent="ask_wage_info"] td').nth(1)
    ).not_to_have_text("0")
    # Nothing on the page scrolls sideways at a phone's width.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    (tmp_path / "screens").mkdir()
    phone.screenshot(path=str(tmp_path / "screens" / "stats.png"), full_page=True)
    assert (tmp_path / "screens" / "stats.png").stat().st_size > 10_000

    with phone.expect_download() as downloading:
        phone.get_by_role("link", name="Download CSV").click()
    download = downloading.value
    assert download.suggested_filename.startswith("hotline-stats-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    table = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    wage = [row for row in table if row["figure"] == "intent" and row["key"] == "ask_wage_info"]
    assert int(wage[0]["value"]) >= 1
    assert "Samut" not in saved.read_text(encoding="utf-8")
    # Chart.js runs under the console's Content-Security-Policy without complaint.
    assert problems == []

    phone.get_by_role("button", name="Sign out Stats-Sup").click()
    sign_in(phone, stack, "stats-agent")
    expect(phone.get_by_role("link", name="Statistics")).to_have_count(0)
    refused = phone.goto(f"{stack.app_url}/console/stats")
    assert refused is not None and refused.status == 403
    expect(phone.locator("body")).to_contain_text("Your role does not allow this.")
