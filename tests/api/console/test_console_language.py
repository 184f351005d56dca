"""The console in the staff member's language: Thai or English, chosen or negotiated."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from babel.messages.pofile import read_po
from fastapi import Request
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.console_wording import (
    COOKIE,
    ConsoleWording,
    catalog_path,
    extract,
    template_path,
    write_template,
)
from bot import labels
from bot.cases.indicators import ForcedLabourIndicators
from bot.cases.models import CaseStatus
from bot.conversations.models import EscalationReason, MessageStatus, Owner
from bot.handoff.canned import canned_replies
from bot.handoff.models import Outcome
from bot.language import LANGUAGES
from bot.staff.models import Role
from bot.texts import Texts
from core.settings import PROJECT_ROOT
from tests.fakes.line_api import FakeLine
from tests.support.console import add_staff, csrf_of, open_report, sign_in, worker_writes

LOCALES = PROJECT_ROOT / "locales"
THAI_BROWSER = {"accept-language": "th-TH,th;q=0.9,en-US;q=0.6,en;q=0.5"}
CONSOLE_LANGUAGES = ("th", "my", "km", "lo")
WORDING = ConsoleWording(LOCALES)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def signed_in_reading_thai(client: TestClient, username: str, role: Role) -> None:
    add_staff(client, username, role)
    sign_in(client, username)
    # As the header's form sends it when signed in: with the form token.
    client.post("/console/language", data={"language": "th", "csrf_token": csrf_of(client)})


def _entries(path: Path) -> dict[str, tuple[str, list[str], bool]]:
    with path.open("rb") as handle:
        return {
            str(m.id): (str(m.string), sorted({p for p, _ in m.locations}), m.fuzzy)
            for m in read_po(handle)
            if m.id
        }


def test_the_template_is_what_the_sources_say_and_every_catalog_has_every_message() -> None:
    # Run `hotline content template` after changing the console's words.
    extracted = {str(m.id): sorted({p for p, _ in m.locations}) for m in extract() if m.id}
    template = {msgid: where for msgid, (_, where, _) in _entries(template_path(LOCALES)).items()}
    assert template == extracted
    for language in CONSOLE_LANGUAGES:
        catalog = _entries(catalog_path(LOCALES, language))
        assert set(catalog) == set(template), language
        for msgid, (text, where, fuzzy) in catalog.items():
            assert text, f"{language}: nothing for {msgid!r}"
            # Where a message is used decides whether the script receives it.
            assert where == template[msgid], (language, msgid)
            placeholders = sorted(PLACEHOLDER.findall(text))
            assert placeholders == sorted(PLACEHOLDER.findall(msgid)), (language, msgid)
            assert fuzzy, f"{language}: {msgid!r}: a machine draft must be marked for review"


def test_rewriting_the_template_keeps_every_translation_and_its_review_mark(
    tmp_path: Path,
) -> None:
    shutil.copytree(LOCALES, tmp_path / "locales")
    write_template(tmp_path / "locales")
    for language in CONSOLE_LANGUAGES:
        rewritten = catalog_path(tmp_path / "locales", language)
        assert _entries(rewritten) == _entries(catalog_path(LOCALES, language))
        # Nothing changed for translators: the file is as it was, header included.
        assert rewritten.read_bytes() == catalog_path(LOCALES, language).read_bytes()
    assert _entries(template_path(tmp_path / "locales")) == _entries(template_path(LOCALES))


def test_a_thai_browser_gets_the_console_in_thai_and_an_english_one_in_english(
    client: TestClient,
) -> None:
    thai = client.get("/console/login", headers=THAI_BROWSER)
    assert '<html lang="th">' in thai.text
    assert "<h1>เข้าสู่ระบบ</h1>" in thai.text
    english = client.get("/console/login", headers={"accept-language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in english.text and "<h1>Sign in</h1>" in english.text
    burmese = client.get("/console/login", headers={"accept-language": "my-MM,my;q=0.9"})
    assert "<h1>ဝင်ရန်</h1>" in burmese.text
    # A language the console does not have falls back to English.
    vietnamese = client.get("/console/login", headers={"accept-language": "vi"})
    assert "<h1>Sign in</h1>" in vietnamese.text
    # The switch offers each language by its own name, English first.
    assert re.findall(
        r'lang="(\w+)"\s*(?:aria-current="true")?>([^<]+)</button>', vietnamese.text
    ) == [
        ("en", "English"),
        ("th", "ไทย"),
        ("my", "မြန်မာ"),
        ("km", "ខ្មែរ"),
        ("lo", "ລາວ"),
    ]


def test_the_chosen_language_is_kept_in_a_cookie_and_wins_over_the_browser(
    client: TestClient,
) -> None:
    chosen = client.post(
        "/console/language",
        data={"language": "th", "next": "/console/login"},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/console/login"
    set_cookie = chosen.headers["set-cookie"]
    assert f"{COOKIE}=th" in set_cookie and "HttpOnly" in set_cookie
    page = client.get("/console/login", headers={"accept-language": "en"})
    assert "<h1>เข้าสู่ระบบ</h1>" in page.text
    # Back to English from the same switch.
    client.post("/console/language", data={"language": "en", "next": "/console/login"})
    assert "<h1>Sign in</h1>" in client.get("/console/login", headers=THAI_BROWSER).text


def test_the_language_switch_refuses_other_sites_languages_and_destinations(
    client: TestClient,
) -> None:
    unknown = client.post("/console/language", data={"language": "xx"}, follow_redirects=False)
    assert unknown.status_code == 303 and "set-cookie" not in unknown.headers
    elsewhere = client.post(
        "/console/language",
        data={"language": "th", "next": "https://example.org/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/console/"
    forged = client.post(
        "/console/language",
        data={"language": "th"},
        headers={"sec-fetch-site": "cross-site"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "set-cookie" not in forged.headers


def test_errors_and_the_scripts_words_come_in_the_staff_members_language(
    client: TestClient,
) -> None:
    signed_in_reading_thai(client, "ploy", Role.AGENT)
    missing = client.get("/api/handoff/conversations/999999")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "ไม่พบการสนทนานี้"
    page = client.get("/console/queue")
    assert "<h1>คิว</h1>" in page.text
    found = re.search(
        r'<script type="application/json" id="console-texts">(.*?)</script>', page.text, re.S
    )
    assert found
    script = json.loads(found.group(1))
    assert script["words"]["Claim"] == "รับเรื่อง"
    assert script["words"]["Waiting since %(time)s"] == "รอตั้งแต่ %(time)s"
    assert script["labels"]["status"]["in_progress"] == "กำลังดำเนินการ"
    assert script["labels"]["owner"]["queued"] == "รอเจ้าหน้าที่"
    # Only the script's words travel with the page, not the whole catalog.
    assert "Delete the data" not in script["words"]
    # Ready-made replies are shown in the staff member's language to choose from.
    conversation = client.get("/console/conversations/1").text
    assert '<option value="th" selected>ไทย</option>' in conversation
    # Codes such as a case's status are shown by their word, in Thai too.
    cases = client.get("/console/cases").text
    assert '<option value="in_progress" >กำลังดำเนินการ</option>' in cases


def test_what_staff_wrote_is_shown_as_written_and_escaped_in_thai_too(
    client: TestClient,
) -> None:
    # The staff page shows a refused form's error; a crafted one in the
    # address is still only text, in any language.
    signed_in_reading_thai(client, "admin", Role.ADMIN)
    page = client.get("/console/staff", params={"error": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<h1>เจ้าหน้าที่</h1>" in page.text


def test_every_code_staff_read_has_a_word() -> None:
    # A code without one is shown raw: new statuses, kinds, outcomes and
    # roles get their word (and its translation) when they are added.
    kinds = ForcedLabourIndicators(PROJECT_ROOT / "flows/content/forced_labour_indicators.yml")
    assert set(labels.CASE_KINDS) == kinds.kinds
    # The indicators' English names are the content file's, word for word.
    assert kinds.names == labels.INDICATORS
    assert set(labels.CASE_STATUSES) == {status.value for status in CaseStatus}
    assert set(labels.OUTCOMES) == {outcome.value for outcome in Outcome}
    assert set(labels.ROLES) == {role.value for role in Role}
    assert set(labels.OWNERS) == {owner.value for owner in Owner}
    assert set(labels.REASONS) == {reason.value for reason in EscalationReason}
    assert set(labels.MESSAGE_STATUSES) == {status.value for status in MessageStatus}
    canned = {topic.topic for topic in canned_replies(Texts(LOCALES), language="en")}
    assert set(labels.CANNED_TOPICS) == canned
    assert tuple(labels.WORKER_LANGUAGES) == LANGUAGES


def test_a_case_reads_in_thai_from_its_kind_to_its_timeline(
    client: TestClient, line_api: FakeLine
) -> None:
    worker_writes(client, line_api, "U-th-case", "အလုပ်ရှင်က ပတ်စ်ပို့ကို ယူထားတယ်")
    case_id = open_report(client, "U-th-case")
    agent = add_staff(client, "nok", Role.AGENT)
    signed_in_reading_thai(client, "lead", Role.SUPERVISOR)
    token = csrf_of(client)
    for form, data in (("assign", {"staff_id": str(agent)}), ("status", {"status": "in_progress"})):
        done = client.post(
            f"/console/cases/{case_id}/{form}",
            data={**data, "csrf_token": token},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
    page = client.get(f"/console/cases/{case_id}").text
    for word in (
        "นายจ้างยึดเอกสาร",
        "กำลังดำเนินการ",
        "พม่า",
        "รายงานเข้ามา",
        "มอบหมายแล้ว",
        "การยึดเอกสารประจำตัว",  # the ILO indicator the kind points to
    ):
        assert word in page, word
    assert "เปลี่ยนสถานะ" in page and "ลำดับเหตุการณ์" in page
    # What each event did, by words and names rather than codes and ids.
    assert "ใหม่ → กำลังดำเนินการ" in page
    assert "→ Nok" in page
    assert "line · พม่า" in page
    # The worker's own words are shown as written.
    assert "they keep my passport" in page


def test_a_referral_pdf_exported_in_thai_is_printed_in_thai(
    client: TestClient, line_api: FakeLine, tmp_path: Path
) -> None:
    worker_writes(client, line_api, "U-th-pdf", "အလုပ်ရှင်က ပတ်စ်ပို့ကို ယူထားတယ်")
    case_id = open_report(client, "U-th-pdf", answers={"story": "ယူထားတယ်"})
    signed_in_reading_thai(client, "lead", Role.SUPERVISOR)
    pdf = client.get(f"/api/cases/{case_id}/export.pdf")
    assert pdf.status_code == 200
    (tmp_path / "case.pdf").write_bytes(pdf.content)
    printed = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(tmp_path / "case.pdf"), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    squeezed = "".join(printed.split())
    for words in (
        "เหตุการณ์",
        "นายจ้างยึดเอกสาร",
        "ใหม่",
        "คำตอบของแรงงาน",
        "เหตุการณ์ตามคำของแรงงาน",  # the question the answer is to
        "เอกสารลับ",
    ):
        assert words in squeezed, words
    assert "line·พม่า" in squeezed  # how the report came in, as the timeline says it
    # The worker's words and the codes a referral needs are printed as they are.
    assert "ယူထားတယ်" in squeezed
    assert "What happened" not in printed


@settings(max_examples=200, deadline=None)
@given(header=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=300))
def test_any_accept_language_header_picks_a_console_language(header: str) -> None:
    request = Request({"type": "http", "headers": [(b"accept-language", header.encode("latin-1"))]})
    assert WORDING.for_request(request).language in WORDING.languages


def test_every_intent_and_report_answer_has_a_word_for_staff() -> None:
    # Staff who do not read the worker's language see what the bot understood.
    domain = yaml.safe_load((PROJECT_ROOT / "flows/domain.yml").read_text(encoding="utf-8"))
    assert set(labels.INTENTS) == set(domain["intents"])
    report_slots = {name.removeprefix("report_") for name in domain["slots"]}
    assert set(labels.ANSWERS) <= report_slots


def test_a_signed_in_choice_follows_the_staff_member_to_another_device(
    client: TestClient,
) -> None:
    signed_in_reading_thai(client, "noi", Role.AGENT)
    # Another browser: no cookies, no language of its own.
    client.cookies.clear()
    assert "<h1>Sign in</h1>" in client.get("/console/login").text
    signed = sign_in(client, "noi")
    assert f"{COOKIE}=th" in signed.headers["set-cookie"]
    assert "<h1>คิว</h1>" in client.get("/console/queue").text
    # A colleague who never chose keeps the browser's language.
    add_staff(client, "jane", Role.AGENT)
    client.cookies.clear()
    assert COOKIE not in sign_in(client, "jane").headers["set-cookie"]
    assert "<h1>Queue</h1>" in client.get("/console/queue").text
