"""The hotline stopped and started again (an upgrade, a crash, a new machine):
a worker in the middle of a report goes on from the next question, with the
answers given before kept. The engine's memory is in the database, not in
its process."""

from __future__ import annotations

import pytest

from tests.integration.test_reports import case_of, reference_in, replies
from tests.integration.workers import LineWorker, TelegramWorker, after_any_safety_check
from tests.support import rows, stored_conversation
from tests.support.stack import Stack, restart

pytestmark = pytest.mark.engine


def test_a_report_half_filled_goes_on_after_the_whole_hotline_restarts(stack: Stack) -> None:
    telegram = TelegramWorker(stack, 7_340_001)
    line = LineWorker(stack, "U-restart-report")
    first = telegram.says("boss not pay me 2 months")
    assert after_any_safety_check(first, "en") == [replies("report_ask_when", "en")]
    assert telegram.says("since september") == [replies("report_ask_where", "en")]
    assert line.says("my boss keeps my passport") == [replies("report_ask_when", "en")]
    public_id = stored_conversation(stack.database_url, str(telegram.chat_id))["public_id"]
    # What the engine remembers is in the database, encrypted.
    [(token,)] = rows(
        stack.database_url,
        "SELECT tracker FROM engine_trackers WHERE sender_id = :id",
        id=public_id,
    )
    assert "since september" not in token

    restart(stack)

    # Each worker goes on from the question after the last one answered.
    assert telegram.says("Rayong") == [replies("report_ask_employer", "en")]
    assert line.says("last week") == [replies("report_ask_where", "en")]
    telegram.presses("/deny")
    telegram.says("5")
    for _ in range(4):
        telegram.presses("/deny")
    filed = telegram.presses("/affirm")
    case = case_of(stack, reference_in(filed[0]))
    assert case["answers"]["when"] == "since september"
    assert case["province"] == "Rayong"
    assert case["kind"] == "unpaid_wages"
