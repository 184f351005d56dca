"""Workers in danger, on their first message and mid-conversation, through
LINE and Telegram with the real engine: the emergency numbers first, staff
first, and the alarm kept with what raised it.

The messages are this test's own (neither the detector's training data nor
its held-out set), one for each situation the hotline must never miss.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from bot.texts import Texts
from core.settings import PROJECT_ROOT
from tests.integration.workers import LineWorker, TelegramWorker
from tests.support import eventually, rows, stored_conversation
from tests.support.stack import Stack

pytestmark = pytest.mark.engine

TEXTS = Texts(PROJECT_ROOT / "locales")
_chat_ids = itertools.count(881_000)

# (situation, language, channel, what the worker writes first)
SITUATIONS = [
    ("violence", "en", "line",
     "the foreman is kicking my brother on the floor right now, blood from his mouth"),
    ("confined", "th", "telegram",
     "นายจ้างล็อกห้องพวกเราไว้ตั้งแต่เมื่อวาน ไม่มีน้ำไม่มีข้าว ออกไม่ได้"),
    ("sea", "my", "line", "ဒီည သင်္ဘောပေါ်က တစ်ယောက်ကို ပင်လယ်ထဲ ပစ်ချလိုက်တယ် ပြန်မဆယ်ဘူး"),
    ("injury", "km", "telegram", "មិត្តខ្ញុំធ្លាក់ពីលើអគារ មិនដឹងខ្លួន ថៅកែមិនឱ្យទៅពេទ្យ"),
    ("sexual", "lo", "line", "ລາວຂົ່ມຂືນຂ້ອຍ ລາວຍັງຢູ່ນອກຫ້ອງ"),
    ("taken", "en", "telegram",
     "broker put my 15 year old sister in a van to the border an hour ago, phone off"),
    ("threat_kill", "th", "line", "หัวหน้าบอกว่าคืนนี้จะเอาชีวิตผมถ้าไม่จ่ายเงิน"),
    ("suicide", "en", "telegram", "tell my mother I am sorry. the rope is ready. goodbye"),
    ("hidden", "my", "line",
     "truck nout mhar lu 20 lout shi tal lay ma shu ya buu kalay tway mat nay pe"),
    ("fire", "km", "telegram", "ភ្លើងឆេះរោងចក្រ យើងជាប់នៅជាន់ទី៣ ផ្សែងពេញ"),
]  # fmt: skip


def worker_on(stack: Stack, channel: str, name: str) -> tuple[LineWorker | TelegramWorker, str]:
    if channel == "line":
        return LineWorker(stack, f"U-danger-{name}"), f"U-danger-{name}"
    chat_id = next(_chat_ids)
    return TelegramWorker(stack, chat_id), str(chat_id)


def alarms(stack: Stack, user: str) -> list[tuple[Any, ...]]:
    return rows(
        stack.database_url,
        "SELECT a.level, a.signal FROM danger_alarms a "
        "JOIN conversations c ON c.id = a.conversation_id "
        "JOIN workers w ON w.id = c.worker_id WHERE w.channel_user_id = :user ORDER BY a.id",
        user=user,
    )


@pytest.mark.parametrize(
    ("situation", "language", "channel", "words"), SITUATIONS, ids=[s[0] for s in SITUATIONS]
)
def test_a_worker_in_danger_gets_the_numbers_first_on_their_first_message(
    stack: Stack, situation: str, language: str, channel: str, words: str
) -> None:
    worker, user = worker_on(stack, channel, situation)
    replies = worker.says(words)
    numbers = TEXTS.get(language, "emergency")
    assert replies[0].startswith(numbers), replies
    for number in ("191", "1669", "1300"):
        assert number in replies[0]
    if situation == "fire":
        assert TEXTS.get(language, "emergency.fire") in replies[0]
    if situation == "sea":
        assert TEXTS.get(language, "emergency.sea") in replies[0]
    # The detector's alarm comes first; the engine may read `emergency` too
    # and add its own (signal `engine`) when it hands the worker to staff.
    (level, signal), *more = alarms(stack, user)
    assert signal in ("words", "model")
    assert all(later == ("danger", "engine") for later in more)
    if level == "danger":
        conversation = stored_conversation(stack.database_url, user)
        assert (conversation["owner"], conversation["priority"]) == ("queued", 100)
    else:
        # Doubt: the question follows the numbers, and the engine answered too.
        assert replies[1] == TEXTS.get(language, "danger_check")


def test_danger_in_the_middle_of_a_report_stops_the_questions_and_brings_staff(
    stack: Stack,
) -> None:
    worker, user = worker_on(stack, "telegram", "mid-report")
    assert worker.says("boss not pay me 2 months") == [TEXTS.get("en", "report_ask_when")]
    replies = worker.says("he is back with a machete, he is hitting my friend now")
    assert replies[0].startswith(TEXTS.get("en", "emergency"))
    # The form does not go on to its next question: staff have the worker.
    assert TEXTS.get("en", "report_ask_where") not in replies
    conversation = stored_conversation(stack.database_url, user)
    assert (conversation["owner"], conversation["escalation_reason"]) == ("queued", "emergency")


def test_a_worker_waiting_for_staff_who_writes_danger_goes_first(stack: Stack) -> None:
    worker, user = worker_on(stack, "line", "waiting")
    assert worker.presses("/request_human")[0] == TEXTS.get("en", "request_human")
    assert stored_conversation(stack.database_url, user)["priority"] < 100
    replies = worker.says("the boss is coming with a gun, we are hiding in the toilet")
    assert replies[0].startswith(TEXTS.get("en", "emergency"))
    eventually(lambda: stored_conversation(stack.database_url, user)["priority"] == 100)
    assert ("danger", "model") in alarms(stack, user) or ("danger", "words") in alarms(stack, user)


def test_ordinary_questions_with_strong_words_get_their_answer_without_alarm(
    stack: Stack,
) -> None:
    worker, user = worker_on(stack, "telegram", "hyperbole")
    replies = worker.says("so hot today the heat is killing me haha, what is the police number")
    assert not any(reply.startswith(TEXTS.get("en", "emergency")) for reply in replies)
    assert alarms(stack, user) == []
