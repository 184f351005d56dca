"""An agent takes a Burmese worker's LINE conversation in the console and hands it back.

Everything is real: the engine with its trained model, the app, the
database, headless Chromium at a phone's width; LINE is the local stand-in,
and the worker's side arrives as signed LINE webhooks.
"""

from __future__ import annotations

import io
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from bot.texts import Texts
from core.settings import PROJECT_ROOT
from tests.fakes.line_api import FakeLine, event, sign, text_event, webhook_body
from tests.support import eventually, rows, stored_conversation, stored_messages
from tests.support.stack import APP_BIN, Stack

pytestmark = [pytest.mark.browser, pytest.mark.engine]

TEXTS = Texts(PROJECT_ROOT / "locales")
PASSWORD = "a long agent password"
# "I want to talk to staff" in Burmese: the engine hands the worker to staff.
ASK_FOR_STAFF = "ဝန်ထမ်းနဲ့ ပြောချင်ပါတယ်"
# What a worker types is shown as text, whatever it looks like.
ATTACK = "<script>document.body.dataset.hacked=1</script><b>ဒီမှာ ဓာတ်ပုံ</b>"
PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"


def photo_bytes() -> bytes:
    """A small real PNG, as a worker's phone would send; different on every run.

    The stack keeps files in the project's attachment folder by hash, and each
    test run has its own encryption key: the same bytes as an earlier run
    would find that run's file, which this run's key cannot open.
    """
    out = io.BytesIO()
    colour = tuple(uuid.uuid4().bytes[:3])
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def add_agent(stack: Stack, username: str) -> None:
    added = subprocess.run(
        [
            str(APP_BIN / "hotline"),
            *("staff", "add", username, "--role", "agent"),
            *("--name", "Agent Aung", "--password-stdin"),
        ],
        input=PASSWORD + "\n",
        env=stack.environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode == 0, added.stderr + added.stdout


WORKER_CONVERSATION = (
    "SELECT c.id FROM conversations c JOIN workers w ON w.id = c.worker_id "
    "WHERE w.channel_user_id = :user"
)


def worker_sends(stack: Stack, *events: dict[str, object]) -> None:
    body = webhook_body(*events)
    answer = httpx.post(
        f"{stack.app_url}/webhooks/line",
        content=body,
        headers={"content-type": "application/json", "x-line-signature": sign(body)},
    )
    assert answer.status_code == 200


def sent_to_line(line: FakeLine) -> list[str]:
    return line.texts(PUSH) + line.texts(REPLY)


def test_an_agent_takes_a_burmese_worker_and_hands_them_back_to_the_bot(
    stack: Stack, fake_line: FakeLine, phone: Page, tmp_path: Path
) -> None:
    fake_line.reset()
    user = "U" + uuid.uuid4().hex
    add_agent(stack, "aung")

    phone.goto(f"{stack.app_url}/console/login")
    phone.get_by_label("Username").fill("aung")
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.goto(f"{stack.app_url}/console/queue")
    expect(phone.locator("#live-state")).to_have_text("Live")

    # The worker asks for a person; the queue shows them without a reload.
    # (Other tests on this hotline may have left workers waiting: the card
    # is found by the worker's conversation.)
    worker_sends(stack, text_event(user, ASK_FOR_STAFF))
    eventually(lambda: bool(rows(stack.database_url, WORKER_CONVERSATION, user=user)))
    [(conversation_id,)] = rows(stack.database_url, WORKER_CONVERSATION, user=user)
    card = phone.locator(
        "#queue .card", has=phone.locator(f"a[href='/console/conversations/{conversation_id}']")
    )
    expect(card).to_be_visible(timeout=30_000)
    expect(card.locator(".language")).to_have_text("Burmese")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375

    # The summary comes from the engine's own record of the conversation.
    expect(card).to_contain_text("asked for a person")
    # The worker heard where they stand: their place, or that nobody is in.
    waiting_prefix = TEXTS.get("my", "handoff.waiting").split("{")[0]
    after_hours = TEXTS.get("my", "handoff.after_hours")
    eventually(
        lambda: any(
            t == after_hours or t.startswith(waiting_prefix) for t in sent_to_line(fake_line)
        )
    )
    card.get_by_role("button", name="Claim").click()
    expect(phone.locator("#staff-tools")).to_be_visible(timeout=15_000)
    # Claimed: the claim button is gone (its row's own display once kept it).
    expect(phone.locator("#claim-row")).to_be_hidden()
    expect(phone.locator("#messages")).to_contain_text(ASK_FOR_STAFF)

    # A ready-made reply, read in English, reaches the worker in Burmese.
    english = TEXTS.get("en", "canned.greeting.hello")
    phone.locator(".canned-reply", has_text=english).click()
    burmese = TEXTS.get("my", "canned.greeting.hello")
    eventually(lambda: burmese in sent_to_line(fake_line))
    expect(phone.locator("#messages")).to_contain_text(burmese)

    # The worker answers with words and a photo; both appear live.
    fake_line.contents["m-photo-handoff"] = (photo_bytes(), "image/png")
    photo = event(
        "message",
        user,
        replyToken=uuid.uuid4().hex,
        message={
            "type": "image",
            "id": "m-photo-handoff",
            "quoteToken": "q",
            "contentProvider": {"type": "line"},
        },
    )
    worker_sends(stack, text_event(user, ATTACK))
    worker_sends(stack, photo)
    expect(phone.locator("#messages li.inbound .text").filter(has_text=ATTACK)).to_have_text(ATTACK)
    image = phone.locator("#messages li.inbound img")
    expect(image).to_be_visible(timeout=15_000)
    eventually(lambda: bool(phone.evaluate("document.querySelector('#messages img').naturalWidth")))
    # Nothing the worker wrote became markup or ran.
    assert phone.locator("#messages b").count() == 0
    assert phone.locator("#messages script").count() == 0
    assert phone.evaluate("document.body.dataset.hacked") is None
    # The conversation, photo and staff tools included, fits a 375-pixel phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.screenshot(path=str(tmp_path / "conversation.png"), full_page=True)

    # Close: the worker is told in Burmese and the bot answers again.
    phone.locator("#close-outcome").select_option("resolved")
    phone.get_by_role("button", name="Close and hand back to the bot").click()
    expect(phone.locator("#staff-tools")).to_be_hidden()
    eventually(lambda: TEXTS.get("my", "handoff.closed") in sent_to_line(fake_line))
    # The engine was told: no form is left waiting for an answer.
    public_id = stored_conversation(stack.database_url, user)["public_id"]
    tracker = httpx.get(
        f"{stack.engine_url}/conversations/{public_id}/tracker",
        params={"token": stack.token, "include_events": "ALL"},
    ).json()
    told = [(e["event"], e.get("name")) for e in tracker["events"][-2:]]
    assert told == [("active_loop", None), ("slot", "requested_slot")]
    assert tracker["events"][-1]["value"] is None
    worker_sends(stack, text_event(user, "မင်္ဂလာပါ"))

    def answered_by_the_bot() -> bool:
        last = [m for m in stored_messages(stack.database_url, user) if m["direction"] == "inbound"]
        return bool(last[-1]["original_text"] == "မင်္ဂလာပါ" and last[-1]["status"] == "answered")

    eventually(answered_by_the_bot, timeout=30)


def test_a_thai_reading_agent_gets_the_queue_in_thai_and_can_switch_to_english(
    stack: Stack, fake_line: FakeLine, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="th-TH")
    page = context.new_page()
    try:
        user = "U" + uuid.uuid4().hex
        add_agent(stack, "ploy")
        page.goto(f"{stack.app_url}/console/login")
        # The browser asks for Thai: the console answers in Thai.
        expect(page.locator("h1")).to_have_text("เข้าสู่ระบบ")
        page.get_by_label("ชื่อผู้ใช้").fill("ploy")
        page.get_by_label("รหัสผ่าน").fill(PASSWORD)
        page.get_by_role("button", name="เข้าสู่ระบบ").click()
        page.goto(f"{stack.app_url}/console/queue")
        expect(page.locator("h1")).to_have_text("คิว")
        # The script's words too, from the page's JSON under the strict policy.
        expect(page.locator("#live-state")).to_have_text("ออนไลน์")
        worker_sends(stack, text_event(user, ASK_FOR_STAFF))
        eventually(lambda: bool(rows(stack.database_url, WORKER_CONVERSATION, user=user)))
        [(conversation_id,)] = rows(stack.database_url, WORKER_CONVERSATION, user=user)
        card = page.locator(
            "#queue .card",
            has=page.locator(f"a[href='/console/conversations/{conversation_id}']"),
        )
        expect(card).to_be_visible(timeout=30_000)
        expect(card.locator(".language")).to_have_text("พม่า")
        expect(card.get_by_role("button", name="รับเรื่อง")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375

        # English from the header, kept for the next page.
        page.get_by_role("button", name="English").click()
        expect(page.locator("h1")).to_have_text("Queue")
        expect(page.locator("#live-state")).to_have_text("Live")
        page.goto(f"{stack.app_url}/console/cases")
        expect(page.locator("h1")).to_have_text("Cases")
    finally:
        context.close()
