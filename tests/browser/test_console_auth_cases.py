"""The staff console in a real headless Chromium: sign-in, cases, a worker's markup, phones.

The app runs on a local port with the real database; the engine is not
needed here (the console never calls it), so it is left down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from api.app import create_app
from bot.cases import queries as cases
from bot.cases.indicators import ForcedLabourIndicators
from bot.conversations.models import Conversation, Worker
from bot.staff.models import Role
from bot.staff.service import LoginPolicy, StaffAccounts
from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from tests.browser.conftest import served
from tests.fakes.line_api import FakeLine, event, sign, text_event, webhook_body
from tests.support import eventually, stored_messages
from tests.support.console import png

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PHONE = {"width": 375, "height": 740}
ATTACK = (
    '<script>document.body.dataset.hacked = "script"</script>'
    "<img src=x onerror=\"document.body.dataset.hacked = 'img'\">"
)
BURMESE = "အလုပ်ရှင်က ကျွန်တော့် ပတ်စ်ပို့ကို ယူထားတယ်"


@dataclass
class Console:
    url: str
    settings: Settings

    def run(self, work):  # type: ignore[no-untyped-def]
        """Run `work(session)` against the app's database, as the hotline's services do."""

        async def go():  # type: ignore[no-untyped-def]
            database = create_engine(self.settings.hotline_database_url, self.settings.vault())
            try:
                async with create_sessionmaker(database)() as session:
                    return await work(session)
            finally:
                await database.dispose()

        # Playwright's sync API keeps an event loop on this thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, go()).result()

    def add_staff(self, username: str, role: Role) -> int:
        async def add(session):  # type: ignore[no-untyped-def]
            accounts = StaffAccounts(
                sessions=create_sessionmaker(session.bind),
                policy=LoginPolicy.from_settings(self.settings),
            )
            staff = await accounts.create_staff(
                username=username,
                display_name=username.title(),
                role=role,
                password=PASSWORD,
            )
            return staff.id

        staff_id: int = self.run(add)
        return staff_id

    def worker_writes(self, line: FakeLine, user: str, text: str, photo: bytes | None) -> None:
        events = [text_event(user, text)]
        if photo is not None:
            line.contents["m-console-photo"] = (photo, "image/png")
            events.append(
                event(
                    "message",
                    user,
                    replyToken="rt-console-photo",
                    message={
                        "type": "image",
                        "id": "m-console-photo",
                        "quoteToken": "q",
                        "contentProvider": {"type": "line"},
                    },
                )
            )
        for one in events:
            body = webhook_body(one)
            response = httpx.post(
                f"{self.url}/webhooks/line",
                content=body,
                headers={"content-type": "application/json", "x-line-signature": sign(body)},
            )
            assert response.status_code == 200
        # Acknowledged once on disk; stored in the database a moment later.
        eventually(
            lambda: (
                sum(
                    message["direction"] == "inbound"
                    for message in stored_messages(self.settings.hotline_database_url, user)
                )
                >= len(events)
            )
        )
        if photo is not None:
            eventually(lambda: bool(line.calls("/m-console-photo/content")))

    def open_report(self, user: str, answers: dict[str, str], assigned_to: int | None) -> int:
        settings = self.settings

        async def open_it(session):  # type: ignore[no-untyped-def]
            conversation = (
                await session.execute(
                    select(Conversation)
                    .join(Worker, Worker.id == Conversation.worker_id)
                    .where(Worker.channel_user_id == user)
                )
            ).scalar_one()
            case = await cases.file_report(
                session=session,
                conversation=conversation,
                report=cases.Report(
                    kind="document_confiscation",
                    answers=answers,
                    language="my",
                    province="Samut Sakhon",
                ),
                indicators=ForcedLabourIndicators(
                    settings.hotline_content_dir / "forced_labour_indicators.yml"
                ),
                prefix=settings.hotline_case_prefix,
            )
            case.assigned_to = assigned_to
            await session.commit()
            return case.id

        case_id: int = self.run(open_it)
        return case_id


@pytest.fixture
def console(settings: Settings) -> Iterator[Console]:
    with served(create_app(settings)) as url:
        yield Console(url=url, settings=settings)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, console: Console, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{console.url}/console/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_an_agent_signs_in_on_a_phone_and_reads_a_case_with_the_workers_markup_as_text(
    console: Console, phone: Page, line_api: FakeLine, tmp_path: Path
) -> None:
    agent = console.add_staff("mya", Role.AGENT)
    console.worker_writes(line_api, "U-browser-1", ATTACK, photo=png(600, 400))
    case_id = console.open_report(
        "U-browser-1", {"what": BURMESE, "employer": ATTACK}, assigned_to=agent
    )
    dialogs: list[str] = []
    phone.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    phone.goto(f"{console.url}/console/cases/{case_id}")
    expect(phone).to_have_url(f"{console.url}/console/login?next=%2Fconsole%2Fcases%2F{case_id}")
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "login.png"), full_page=True)

    phone.get_by_label("Username").fill("mya")
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    expect(phone).to_have_url(f"{console.url}/console/cases/{case_id}")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("LPN-")

    # The worker's markup is there, as text, and nothing in it ran.
    expect(phone.locator(".timeline .inbound .text").first).to_have_text(ATTACK)
    expect(phone.locator(".answers dd").filter(has_text="<script>")).to_have_text(ATTACK)
    expect(phone.locator(".answers dd").first).to_have_text(BURMESE)
    assert phone.evaluate("document.body.dataset.hacked") is None
    assert dialogs == []
    # The photo is drawn from the authenticated, decrypting endpoint.
    photo = phone.locator(".timeline img")
    expect(photo).to_have_count(1)
    photo.scroll_into_view_if_needed()
    phone.wait_for_function("document.querySelector('.timeline img').naturalWidth === 600")
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "case.png"), full_page=True)

    # A note and a status change from the phone.
    phone.get_by_label("Never shown to the worker").fill("Called the worker back")
    phone.get_by_role("button", name="Add note").click()
    expect(phone.locator(".timeline .note .text")).to_have_text("Called the worker back")
    phone.get_by_label("Move to").select_option("in_progress")
    phone.get_by_role("button", name="Change status").click()
    expect(phone.locator(".case-status")).to_have_text("in progress")

    phone.get_by_role("button", name="Sign out Mya").click()
    expect(phone).to_have_url(f"{console.url}/console/login")
    phone.goto(f"{console.url}/console/cases")
    expect(phone).to_have_url(f"{console.url}/console/login?next=%2Fconsole%2Fcases")


def test_the_case_list_fits_a_phone_and_another_agents_case_is_refused(
    console: Console, phone: Page, line_api: FakeLine
) -> None:
    console.add_staff("mya", Role.AGENT)
    other = console.add_staff("dara", Role.AGENT)
    console.worker_writes(line_api, "U-browser-2", BURMESE, photo=None)
    case_id = console.open_report("U-browser-2", {"what": BURMESE}, assigned_to=other)

    sign_in(phone, console, "mya")
    expect(phone.get_by_role("button", name="Sign out Mya")).to_be_visible()
    phone.goto(f"{console.url}/console/cases")
    expect(phone.locator(".case-list .card")).to_have_text("No cases match.")
    assert no_horizontal_scroll(phone)
    response = phone.goto(f"{console.url}/console/cases/{case_id}")
    # As if it did not exist: an agent does not learn of someone else's case.
    assert response is not None and response.status == 404
    expect(phone.get_by_role("alert")).to_contain_text("no such case")
    assert no_horizontal_scroll(phone)


def test_a_wrong_password_is_shown_and_the_account_locks(console: Console, phone: Page) -> None:
    console.add_staff("mya", Role.AGENT)
    for _ in range(console.settings.hotline_login_lock_after):
        sign_in(phone, console, "mya", "not my password")
        expect(phone.get_by_role("alert")).to_have_text(
            "Wrong username or password, or the account is locked."
        )
    sign_in(phone, console, "mya")
    expect(phone.get_by_role("alert")).to_be_visible()
    expect(phone).to_have_url(f"{console.url}/console/login")
    assert no_horizontal_scroll(phone)


def test_an_admin_manages_staff_and_reads_the_audit_log_on_a_phone(
    console: Console, phone: Page
) -> None:
    console.add_staff("ada", Role.ADMIN)
    sign_in(phone, console, "ada")
    phone.goto(f"{console.url}/console/staff")
    phone.get_by_label("Username").fill("kanya")
    phone.get_by_label("Name", exact=True).fill("Kanya <b>S.</b>")
    phone.locator("form.stack select[name=role]").select_option("supervisor")
    phone.get_by_label("Password (10 characters or more)").fill("another long one")
    phone.get_by_role("button", name="Add", exact=True).click()
    row = phone.locator("tr[data-username=kanya]")
    expect(row).to_contain_text("Kanya <b>S.</b>")
    row.get_by_role("button", name="Deactivate").click()
    expect(phone.locator("tr[data-username=kanya]")).to_contain_text("deactivated")

    phone.goto(f"{console.url}/console/audit")
    expect(phone.locator("table.audit tbody tr").first).to_contain_text("staff.deactivate")
    expect(phone.locator("table.audit")).to_contain_text("staff.create")
    assert no_horizontal_scroll(phone)
