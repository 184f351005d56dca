"""Reports, emergencies and case status end to end: LINE and Telegram stand-ins,
the real engine with its trained model, the app, and the database as stored."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest
from babel.dates import format_date
from sqlalchemy import create_engine, text

from bot.encoding import readable
from bot.normalise import ZAWGYI
from bot.responses import choose_language_payload
from bot.texts import Texts
from core.database import sync_url
from core.settings import PROJECT_ROOT
from tests.fakes.line_api import FakeLine
from tests.fakes.telegram_api import FakeTelegram
from tests.integration.workers import (
    LineWorker,
    TelegramWorker,
    after_any_safety_check,
    telegram_post,
    update_ids,
)
from tests.support import (
    TEST_VAULT,
    eventually,
    rows,
    stored_conversation,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.engine

TEXTS = Texts(PROJECT_ROOT / "locales")


def answers_to_the_summary(worker: LineWorker | TelegramWorker, workers: str, consent: str) -> str:
    """From the employer question on: skipped, how many, nobody in danger, no
    photos, no contact, consent as given; returns the summary shown."""
    worker.presses("/deny")
    worker.says(workers)
    worker.presses("/deny")
    worker.presses("/deny")
    worker.presses("/deny")
    [summary] = worker.presses(consent)
    return summary


def replies(name: str, language: str, **values: str) -> str:
    return TEXTS.get(language, name, **values)


def cases(stack: Stack) -> list[dict[str, Any]]:
    engine = create_engine(sync_url(stack.database_url))
    with engine.connect() as connection:
        rows = [
            dict(r._mapping) for r in connection.execute(text("SELECT * FROM cases ORDER BY id"))
        ]
    engine.dispose()
    for row in rows:
        row["answers"] = json.loads(TEST_VAULT.decrypt_text(row["answers"]))
        if isinstance(row["indicators"], str):
            row["indicators"] = json.loads(row["indicators"])
    return rows


def case_of(stack: Stack, reference: str) -> dict[str, Any]:
    [case] = [c for c in cases(stack) if c["reference"] == reference]
    return case


def reference_in(message: str) -> str:
    import re

    found = re.search(r"[A-Z]{2,5}-20\d\d-\d{5}", message)
    assert found, message
    return found.group(0)


def test_a_burmese_worker_in_zawgyi_reports_the_kept_passport_on_line(
    stack: Stack, line_api: FakeLine
) -> None:
    worker = LineWorker(stack, "U-report-zawgyi")
    # "The boss holds my passport and won't give it back", typed in Zawgyi.
    first = worker.says("သူေဌးက ပတ္စပို႔ ကိုင္ထားတယ္ ျပန္မေပးဘူး")
    # Stored in Unicode; told once that answers come in Zawgyi, as written.
    assert after_any_safety_check(first, "my") == [
        replies("report_ask_when", "my"),
        replies("encoding_offer", "my"),
    ]
    eventually(
        lambda: (
            readable(replies("report_ask_when", "my"), ZAWGYI)
            in line_api.texts("/message/reply") + line_api.texts("/message/push")
        )
    )
    assert worker.says("လွန်ခဲ့တဲ့ နှစ်လ") == [replies("report_ask_where", "my")]
    assert worker.says("မဟာချိုင်") == [replies("report_ask_employer", "my")]
    assert worker.says("ရွှေပင်လယ် ငါးစက်ရုံ") == [replies("report_ask_workers", "my")]
    assert worker.says("၁၂") == [replies("report_ask_in_danger", "my")]
    assert worker.presses("/deny") == [replies("report_ask_evidence", "my")]
    assert worker.sends_photo(line_api, "m-report-photo", b"\xff\xd8 passport photo") == [
        replies("attachment_received", "my")
    ]
    assert worker.presses("/affirm") == [replies("report_ask_contact", "my")]
    assert worker.presses("/affirm") == [replies("report_ask_consent", "my")]
    [summary] = worker.presses("/affirm")
    assert "ရွှေပင်လယ် ငါးစက်ရုံ" in summary and "Samut Sakhon" in summary
    assert replies("report_kind.document_confiscation", "my") in summary
    filed = worker.presses("/affirm")
    reference = reference_in(filed[0])
    assert filed[0] == replies("report_filed_follow_up", "my", case_reference=reference)
    # Delivered through LINE, in Burmese.
    eventually(
        lambda: filed[0] in line_api.texts("/message/reply") + line_api.texts("/message/push")
    )

    case = case_of(stack, reference)
    assert case["kind"] == "document_confiscation"
    assert "retention_of_identity_documents" in case["indicators"]
    assert case["answers"]["when"] == "လွန်ခဲ့တဲ့ နှစ်လ"
    assert case["answers"]["employer"] == "ရွှေပင်လယ် ငါးစက်ရုံ"
    assert case["answers"]["workers"] == "၁၂"
    assert len(case["answers"]["attachments"]) == 1
    assert (case["language"], case["channel"], case["province"]) == ("my", "line", "Samut Sakhon")
    assert case["consent_to_share"] and not case["in_danger"]
    # The worker may be contacted here: staff pick the report up from the queue.
    conversation = stored_conversation(stack.database_url, "U-report-zawgyi")
    assert conversation["escalation_reason"] == "report_follow_up"


def test_a_khmer_worker_asks_the_minimum_wage_in_chonburi(
    stack: Stack, telegram_api: FakeTelegram
) -> None:
    worker = TelegramWorker(stack, 951_001)
    [answer] = worker.says("ប្រាក់ឈ្នួលអប្បបរមានៅឈុនបុរីប៉ុន្មាន")
    assert "400" in answer
    assert format_date(date(2025, 1, 1), format="long", locale="km") in answer
    assert answer.startswith(replies("wage_rate", "km").split("{")[0])
    eventually(lambda: answer in telegram_api.sent_texts())


def queue(stack: Stack) -> list[tuple[str, int]]:
    """The staff queue as the console orders it: most urgent, then longest waiting."""
    waiting = rows(
        stack.database_url,
        "SELECT w.channel_user_id, c.priority FROM conversations c "
        "JOIN workers w ON w.id = c.worker_id WHERE c.owner = 'queued' "
        "ORDER BY c.priority DESC, c.escalated_at",
    )
    return [(str(user), int(priority)) for user, priority in waiting]


def test_a_lao_worker_being_beaten_gets_the_numbers_at_once_and_goes_first(
    stack: Stack, line_api: FakeLine
) -> None:
    # Someone asked for a person a moment earlier.
    earlier = LineWorker(stack, "U-asked-first")
    assert earlier.presses("/request_human")[0] == replies("request_human", "en")
    lao = LineWorker(stack, "U-lao-beaten")
    first = lao.says("ຊ່ວຍແດ່ ນາຍຈ້າງກຳລັງຕີຂ້ອຍ")
    assert first[0] == replies("emergency", "lo")
    for number in ("191", "1669", "1300"):
        assert number in first[0]
    eventually(lambda: replies("emergency", "lo") in line_api.texts("/message/reply"))
    order = queue(stack)
    users = [user for user, _ in order]
    assert users.index("U-lao-beaten") < users.index("U-asked-first")
    # Only other emergencies that were waiting already may be ahead (other
    # tests share this hotline); everyone else comes after.
    ahead = order[: users.index("U-lao-beaten")]
    assert all(priority == 100 for _, priority in ahead)
    assert dict(order)["U-lao-beaten"] == 100
    assert (
        stored_conversation(stack.database_url, "U-lao-beaten")["escalation_reason"] == "emergency"
    )


def file_a_report(worker: TelegramWorker) -> str:
    worker.says("boss not pay me 2 months")
    worker.says("since september")
    worker.says("Rayong")
    worker.presses("/deny")
    worker.says("5")
    worker.presses("/deny")
    worker.presses("/deny")
    worker.presses("/deny")
    worker.presses("/deny")
    filed = worker.presses("/affirm")
    return reference_in(filed[0])


def test_nobody_learns_about_someone_elses_case(stack: Stack) -> None:
    reporter = TelegramWorker(stack, 951_101)
    reference = file_a_report(reporter)
    assert case_of(stack, reference)["kind"] == "unpaid_wages"
    own = reporter.says(f"case number {reference} any news")
    assert own == [
        replies(
            "case_status_reply",
            "en",
            case_reference=reference,
            case_status=replies("case_status.new", "en"),
        )
    ]
    # Without the number the hotline asks for it; the number alone then does.
    assert reporter.says("what happened to my complaint") == [replies("case_ask_reference", "en")]
    assert reporter.says(reference) == own
    other = TelegramWorker(stack, 951_102)
    someone_elses = other.says(f"case number {reference} any news")
    never_given = other.says("case number LPN-2019-99999 any news")
    assert someone_elses == never_given == [replies("case_not_found", "en")]
    assert reference not in " ".join(someone_elses)


def test_switching_from_thai_to_burmese_mid_report_keeps_the_answers(stack: Stack) -> None:
    worker = TelegramWorker(stack, 951_201)
    assert worker.says("นายจ้างไม่จ่ายเงินเดือนสองเดือนแล้ว") == [replies("report_ask_when", "th")]
    assert worker.says("ตั้งแต่เดือนกันยายน") == [replies("report_ask_where", "th")]
    switched = worker.presses(choose_language_payload("my"))
    assert switched == [replies("language_set_report", "my"), replies("report_ask_where", "my")]
    assert worker.says("ชลบุรี") == [replies("report_ask_employer", "my")]
    assert worker.presses("/deny") == [replies("report_ask_workers", "my")]
    assert worker.says("၃") == [replies("report_ask_in_danger", "my")]
    assert worker.presses("/deny") == [replies("report_ask_evidence", "my")]
    assert worker.presses("/deny") == [replies("report_ask_contact", "my")]
    assert worker.presses("/deny") == [replies("report_ask_consent", "my")]
    [summary] = worker.presses("/affirm")
    # The answer given in Thai is kept and shown in the Burmese summary.
    assert "ตั้งแต่เดือนกันยายน" in summary
    assert summary.startswith(replies("report_summary", "my").split("{")[0])
    filed = worker.presses("/affirm")
    reference = reference_in(filed[0])
    assert filed == [replies("report_filed", "my", case_reference=reference)]
    case = case_of(stack, reference)
    assert case["answers"]["when"] == "ตั้งแต่เดือนกันยายน"
    assert case["language"] == "my" and case["province"] == "Chonburi"
    assert case["indicators"] == ["withholding_of_wages"]


def test_a_location_shared_on_telegram_answers_where_and_a_cancel_drops_the_report(
    stack: Stack,
) -> None:
    chat_id = 951_301
    worker = TelegramWorker(stack, chat_id)
    assert worker.says("my boss keeps my passport") == [replies("report_ask_when", "en")]
    assert worker.says("last week") == [replies("report_ask_where", "en")]
    update_id = next(update_ids)
    location = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_764_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Worker"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Worker"},
            "location": {"latitude": 13.54712, "longitude": 100.27418},
        },
    }
    telegram_post(stack, location)
    assert worker.answer_to_last() == [replies("report_ask_employer", "en")]
    summary = answers_to_the_summary(worker, workers="20", consent="/deny")
    assert "13.54712, 100.27418" in summary
    assert worker.presses("/cancel_report") == [replies("report_cancelled", "en")]
    assert all(
        case["channel"] != "telegram" or case["answers"].get("when") != "last week"
        for case in cases(stack)
    )
    # Asked again later, the report starts afresh: nothing was kept.
    assert worker.says("my boss keeps my passport") == [replies("report_ask_when", "en")]


def test_a_rights_question_mid_report_is_answered_and_the_report_goes_on(stack: Stack) -> None:
    worker = TelegramWorker(stack, 951_401)
    first = worker.says("they cut my salary for nothing")
    assert after_any_safety_check(first, "en") == [replies("report_ask_when", "en")]
    worker.says("last month")
    worker.says("Bangkok")
    worker.presses("/deny")
    assert worker.says("3") == [replies("report_ask_in_danger", "en")]
    answer, question = worker.says("what is the minimum wage in Bangkok")
    assert "400" in answer and "July 1, 2025" in answer
    assert question == replies("report_ask_in_danger", "en")
    # Back in the form, with the earlier answers.
    worker.presses("/deny")
    worker.presses("/deny")
    worker.presses("/deny")
    [summary] = worker.presses("/deny")
    assert "last month" in summary and "Bangkok" in summary


def test_a_worker_changes_one_answer_and_comes_back_later_to_a_report(stack: Stack) -> None:
    worker = LineWorker(stack, "U-correct-one-answer")
    assert worker.says("my boss keeps my passport") == [replies("report_ask_when", "en")]
    worker.says("last week")
    worker.says("Rayong")
    summary = answers_to_the_summary(worker, workers="5", consent="/affirm")
    assert "Rayong" in summary
    # "Correct": the worker picks "Where" and answers only that again.
    assert worker.presses("/deny") == [replies("report_ask_correction", "en")]
    assert worker.presses('/affirm{"report_field":"report_where"}') == [
        replies("report_ask_where", "en")
    ]
    [summary] = worker.says("Chonburi")
    assert "Chonburi" in summary and "Rayong" not in summary and "last week" in summary

    # The worker leaves and says hello another day: the report is offered.
    # An hour without messages ends the engine's session; here the engine
    # runs its own session start at once.
    public_id = stored_conversation(stack.database_url, worker.user)["public_id"]
    started = httpx.post(
        f"{stack.engine_url}/conversations/{public_id}/execute",
        params={"token": stack.token},
        json={"name": "action_session_start"},
    )
    assert started.status_code == 200, started.text
    assert worker.says("hello") == [replies("report_continue", "en")]
    [summary] = worker.presses("/affirm")
    assert "Chonburi" in summary and "last week" in summary
    filed = worker.presses("/affirm")
    case = case_of(stack, reference_in(filed[0]))
    assert case["province"] == "Chonburi" and case["answers"]["when"] == "last week"
    # Filed: a later hello is just a hello.
    assert worker.says("hello") == [replies("greet", "en")]


def test_typed_words_that_look_like_a_button_are_read_as_words(stack: Stack) -> None:
    user = "U-typed-command"
    worker = LineWorker(stack, user)
    # Typed, "/request_data_deletion" is words for the engine to understand,
    # not the command a button would send.
    worker.says("/request_data_deletion")
    public_id = stored_conversation(stack.database_url, user)["public_id"]
    tracker = httpx.get(
        f"{stack.engine_url}/conversations/{public_id}/tracker", params={"token": stack.token}
    ).json()
    [said] = [e for e in tracker["events"] if e["event"] == "user"]
    assert said["text"] == "request_data_deletion"
