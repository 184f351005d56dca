"""The web chat page in a real headless Chromium, sized like a phone."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from api.webchat import COOKIE
from bot.texts import Texts
from core.settings import PROJECT_ROOT
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.engine]

TEXTS = Texts(PROJECT_ROOT / "locales")
# Without these Chromium tries to reach Google's services, which this
# machine's closed network refuses.


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 780}, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def test_a_worker_picks_khmer_and_asks_for_the_numbers(
    stack: Stack, phone: Page, tmp_path: Path
) -> None:
    phone.goto(f"{stack.app_url}/chat")
    welcome = TEXTS.get("en", "welcome").splitlines()[0]
    expect(phone.locator(".bubble--bot").first).to_contain_text(welcome)
    # The language names are real buttons, large enough for a thumb.
    khmer = phone.get_by_role("button", name="ខ្មែរ")
    expect(khmer).to_be_visible()
    box = khmer.bounding_box()
    assert box is not None and box["height"] >= 44

    khmer.click()
    expect(phone.locator(".bubble--worker").last).to_have_text("ខ្មែរ")
    expect(phone.locator(".bubble--bot").last).to_have_text(TEXTS.get("km", "language_set"))

    phone.get_by_role("textbox").fill("សុំលេខទូរស័ព្ទជំនួយ")
    phone.get_by_role("button", name=TEXTS.get("en", "webchat.send")).click()
    expect(phone.locator(".bubble--bot").last).to_contain_text("1546")
    expect(phone.locator(".bubble--bot").last).to_contain_text("ខ្សែទូរស័ព្ទ")
    phone.screenshot(path=str(tmp_path / "chat.png"), full_page=True)


def test_what_a_worker_types_is_shown_as_text_never_as_html(stack: Stack, phone: Page) -> None:
    phone.goto(f"{stack.app_url}/chat")
    expect(phone.locator(".bubble--bot").first).to_be_visible()
    attack = '<img src=x onerror="document.body.dataset.hacked=1">hello'
    phone.get_by_role("textbox").fill(attack)
    phone.keyboard.press("Enter")
    expect(phone.locator(".bubble--worker").last).to_have_text(attack)
    expect(phone.locator(".bubble--bot")).to_have_count(2)
    assert phone.evaluate("document.body.dataset.hacked") is None
    assert phone.locator(".bubble img").count() == 0


def test_the_worker_is_known_by_a_cookie_the_page_never_sees(
    stack: Stack, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 780}, locale="en-US")
    phone = context.new_page()
    sent: list[tuple[str, str, str]] = []
    phone.on("request", lambda r: sent.append((r.method, r.url, r.post_data or "")))
    try:
        phone.goto(f"{stack.app_url}/chat")
        welcome = TEXTS.get("en", "welcome").splitlines()[0]
        expect(phone.locator(".bubble--bot").first).to_contain_text(welcome)
        [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert cookie["value"] not in phone.evaluate("document.cookie")

        phone.get_by_role("textbox").fill("what number can I call")
        phone.keyboard.press("Enter")
        expect(phone.locator(".bubble--bot").last).to_contain_text("1546")
        # Back later: the same worker, not greeted as a newcomer again.
        phone.reload()
        expect(phone.locator(".chat")).to_have_attribute("data-returning", "1")
        phone.wait_for_timeout(4500)  # the page asks for staff replies meanwhile
        phone.get_by_role("textbox").fill("thank you")
        phone.keyboard.press("Enter")
        expect(phone.locator(".bubble--bot").last).to_have_text(TEXTS.get("en", "you_are_welcome"))
        assert [c["value"] for c in context.cookies() if c["name"] == COOKIE] == [cookie["value"]]
    finally:
        context.close()
    chat = [(method, url, body) for method, url, body in sent if "/webchat/" in url]
    assert [body for method, _, body in chat if method == "POST"] == [
        '{"text":"/start"}',
        '{"text":"what number can I call"}',
        '{"text":"thank you"}',
    ]
    polls = [url for method, url, _ in chat if method == "GET"]
    assert polls and all(url == f"{stack.app_url}/webchat/messages" for url in polls)
    # Nothing of the worker in any address the page asked for.
    assert not any(cookie["value"] in url or "sender" in url for _, url, _ in sent)
