"""The report form's actions, case status, escalation and deletion, through the
app's action endpoint as the engine calls it, against the real database."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from bot.responses import Responses
from bot.texts import Texts
from core.database import sync_url
from core.settings import PROJECT_ROOT, Settings
from tests.support import TEST_VAULT, rows
from tests.support.actions import ANSWERS, call, run, worker

TEXTS = Texts(PROJECT_ROOT / "locales")
REPLIES = Responses(PROJECT_ROOT / "flows" / "responses.yml", TEXTS)


def conversation_of(settings: Settings, public_id: str) -> dict[str, Any]:
    """The conversation as stored."""
    engine = create_engine(sync_url(settings.hotline_database_url))
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM conversations WHERE public_id = :id"), {"id": public_id}
        ).one()
    engine.dispose()
    return dict(row._mapping)


def slots_of(result: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in result["events"] if e["event"] == "slot"}


def cases_of(database_url: str) -> list[dict[str, Any]]:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(text("SELECT * FROM cases"))]
    engine.dispose()
    for row in rows:
        row["answers"] = json.loads(TEST_VAULT.decrypt_text(row["answers"]))
    return rows


def validation(sender: str, slot: str, value: Any, **kwargs: Any) -> dict[str, Any]:
    body = call("validate_report_form", sender, active_loop="report_form", **kwargs)
    body["tracker"]["slots"] = {**body["tracker"]["slots"], slot: value, "requested_slot": slot}
    body["tracker"]["events"] = [
        {"event": "user", "timestamp": time.time(), "parse_data": {}},
        {"event": "slot", "timestamp": time.time(), "name": slot, "value": value},
    ]
    return body


def test_every_response_of_the_actions_renders_in_every_language() -> None:
    for name in REPLIES.names():
        for language in ("en", "th", "my", "km", "lo"):
            values = {**ANSWERS, "case_reference": "LPN-2026-00001", "case_status": "new"}
            reply = REPLIES.render(name, language, **values)
            assert reply.text.strip() and "{" not in reply.text
            assert all(button.title.strip() for button in reply.buttons)
    assert REPLIES.message_ids() <= TEXTS.message_ids()


def test_a_worker_in_danger_ends_the_questions(client: TestClient, settings: Settings) -> None:
    sender = worker(client, settings, "w-danger-form")
    slots = {
        k: v for k, v in ANSWERS.items() if k in ("report_kind", "report_when", "report_where")
    }
    slots |= {"report_employer": "skipped", "report_workers": "3"}
    result = run(
        client, validation(sender, "report_in_danger", "yes", slots=slots, intent="affirm")
    )
    assert slots_of(result) == {"report_in_danger": "yes", "requested_slot": None}


def test_typed_words_where_a_choice_is_asked_ask_again_in_the_workers_language(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-choice", "ສະບາຍດີ")
    result = run(client, validation(sender, "report_consent", "maybe later"))
    assert slots_of(result)["report_consent"] is None
    assert [m["text"] for m in result["responses"]] == [TEXTS.get("lo", "report_use_buttons")]


def test_the_kind_in_the_workers_own_words_is_kept(client: TestClient, settings: Settings) -> None:
    sender = worker(client, settings, "w-own-words")
    result = run(client, validation(sender, "report_kind", "they took my phone and beat my friend"))
    assert slots_of(result)["report_kind"] == "other"
    assert slots_of(result)["report_story"] == "they took my phone and beat my friend"


def test_a_named_province_is_kept_by_its_official_name(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-province")
    body = validation(
        sender,
        "report_where",
        "Mahachai",
        entities=[{"entity": "province", "value": "Samut Sakhon"}],
    )
    assert slots_of(run(client, body)) == {
        "report_where": "Samut Sakhon",
        "report_province": "Samut Sakhon",
        # The form goes on with the first question still unanswered.
        "requested_slot": "report_kind",
    }


def test_correcting_the_summary_asks_which_answer_and_only_that_one_again(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-correct", "สวัสดีครับ")
    said_no = run(
        client, validation(sender, "report_confirmed", "no", slots=ANSWERS, intent="deny")
    )
    # Nothing is cleared yet: the worker is asked which answer to change.
    assert slots_of(said_no) == {"report_confirmed": None, "report_correcting": True}

    # The question names only the answers given, in the worker's language.
    slots = {**ANSWERS, "report_confirmed": None, "report_correcting": True}
    del slots["report_employer"]
    [asked] = run(client, call("action_ask_report_correction", sender, slots=slots))["responses"]
    assert asked["text"] == TEXTS.get("th", "report_ask_correction")
    titles = [button["title"] for button in asked["buttons"]]
    assert TEXTS.get("th", "report_field.report_when") in titles
    assert TEXTS.get("th", "report_field.report_employer") not in titles
    assert asked["buttons"][-1]["payload"] == "/cancel_report"

    # Typed words instead of a button: asked again, nothing changes.
    typed = run(
        client,
        validation(sender, "report_correction", "the date", slots=slots, intent="nlu_fallback"),
    )
    assert slots_of(typed) == {"report_correction": None}
    assert typed["responses"][0]["text"] == TEXTS.get("th", "report_use_buttons")

    # "Where": that answer (and its province) is asked again, the rest stays,
    # and then the summary comes back.
    chosen = slots_of(
        run(
            client,
            validation(
                sender,
                "report_correction",
                "report_where",
                slots=slots,
                intent="affirm",
                entities=[{"entity": "report_field", "value": "report_where"}],
            ),
        )
    )
    assert chosen == {
        "report_where": None,
        "report_province": None,
        "report_correction": None,
        "report_correcting": False,
        "requested_slot": "report_where",
    }


def test_the_summary_shows_the_answers_in_the_workers_language(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-summary", "မင်္ဂလာပါ")
    result = run(client, call("action_ask_report_confirmed", sender, slots=ANSWERS))
    [message] = result["responses"]
    assert message["text"].startswith(TEXTS.get("my", "report_summary").split("\n")[0])
    assert TEXTS.get("my", "report_kind.document_confiscation") in message["text"]
    assert TEXTS.get("my", "report_contact.chat") in message["text"]
    # The worker's own words go out as they wrote them, as plain text.
    assert "<script>alert(1)</script> Golden Sea boat" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny", "/cancel_report"]


def test_filing_opens_a_case_and_queues_a_worker_who_may_be_contacted_here(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-file", "မင်္ဂလာပါ")
    began = {"event": "active_loop", "timestamp": time.time() - 5, "name": "report_form"}
    result = run(client, call("action_submit_report", sender, slots=ANSWERS, events=[began]))
    [case] = cases_of(settings.hotline_database_url)
    assert case["reference"].startswith("LPN-") and case["kind"] == "document_confiscation"
    assert case["answers"]["employer"] == ANSWERS["report_employer"]
    assert case["answers"]["when"] == "since March"
    assert case["province"] == "Samut Sakhon" and case["language"] == "my"
    assert case["channel"] == "webchat" and case["consent_to_share"] and not case["in_danger"]
    assert "retention_of_identity_documents" in str(case["indicators"])
    [message] = result["responses"]
    assert message["text"] == TEXTS.get(
        "my", "report_filed_follow_up", case_reference=case["reference"]
    )
    assert slots_of(result)["case_reference"] == case["reference"]
    assert slots_of(result)["report_when"] is None
    stored = conversation_of(settings, sender)
    assert (stored["owner"], stored["escalation_reason"]) == ("queued", "report_follow_up")


def test_a_worker_who_declines_contact_stays_with_the_bot(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-nocontact")
    run(client, call("action_submit_report", sender, slots={**ANSWERS, "report_contact": "none"}))
    assert conversation_of(settings, sender)["owner"] == "bot"


def test_danger_in_the_report_files_it_and_puts_the_worker_first(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-danger-file")
    danger = {**ANSWERS, "report_in_danger": "yes", "report_contact": None}
    result = run(client, call("action_submit_report", sender, slots=danger))
    [case] = cases_of(settings.hotline_database_url)
    assert case["in_danger"]
    assert (
        "191" in result["responses"][0]["text"]
        and case["reference"] in result["responses"][0]["text"]
    )
    stored = conversation_of(settings, sender)
    # First among the web chat's emergencies; those of LINE and Telegram,
    # whose workers the platforms know, go before it.
    assert (stored["escalation_reason"], stored["priority"]) == ("emergency", 90)
    # Kept for supervisors' review of what raised the alarm.
    assert alarm_signals(settings, sender) == ["report"]


@pytest.mark.parametrize(
    ("intent", "before", "reason"),
    [
        ("request_human", "utter_greet", "asked_for_person"),
        ("emergency", "utter_greet", "emergency"),
        ("affirm", "utter_not_understood_again", "not_understood"),
        ("request_human", "utter_not_understood_again", "not_understood"),
    ],
)
def test_staff_are_brought_in_for_the_right_reason(
    client: TestClient, settings: Settings, intent: str, before: str, reason: str
) -> None:
    user = f"w-staff-{intent}-{before}"
    sender = worker(client, settings, user)
    events: list[dict[str, Any]] = [
        {"event": "action", "name": before},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "parse_data": {"intent": {"name": intent}}},
    ]
    run(client, call("action_hand_to_staff", sender, intent=intent, events=events))
    assert conversation_of(settings, sender)["escalation_reason"] == reason
    # The engine's reading of danger is kept beside the detector's alarms.
    assert alarm_signals(settings, sender) == (["engine"] if reason == "emergency" else [])


def alarm_signals(settings: Settings, public_id: str) -> list[str]:
    return [
        str(signal)
        for (signal,) in rows(
            settings.hotline_database_url,
            "SELECT a.signal FROM danger_alarms a JOIN conversations c "
            "ON c.id = a.conversation_id WHERE c.public_id = :id ORDER BY a.id",
            id=public_id,
        )
    ]


def test_a_case_status_only_for_the_worker_who_reported_it(
    client: TestClient, settings: Settings
) -> None:
    reporter = worker(client, settings, "w-reporter", "ສະບາຍດີ")
    run(client, call("action_submit_report", reporter, slots={**ANSWERS, "report_contact": "none"}))
    [case] = cases_of(settings.hotline_database_url)
    reference = case["reference"]

    def ask(sender: str, number: str | None) -> str:
        entities = [{"entity": "case_reference", "value": number}] if number else []
        result = run(
            client,
            call("action_case_status", sender, intent="check_case_status", entities=entities),
        )
        return str(result["responses"][0]["text"])

    own = ask(reporter, reference.lower())
    assert reference in own and TEXTS.get("lo", "case_status.new") in own
    stranger = worker(client, settings, "w-stranger", "ສະບາຍດີ")
    # Someone else's case and a number never given out read exactly alike.
    assert ask(stranger, reference) == ask(stranger, "LPN-2020-99999")
    assert ask(stranger, reference) == TEXTS.get("lo", "case_not_found")
    assert ask(stranger, None) == TEXTS.get("lo", "case_ask_reference")


def test_a_worker_asks_to_delete_their_data(client: TestClient, settings: Settings) -> None:
    sender = worker(client, settings, "w-delete")
    first = run(client, call("action_request_deletion", sender, intent="request_data_deletion"))
    run(client, call("action_request_deletion", sender, intent="request_data_deletion"))
    assert first["responses"][0]["text"] == TEXTS.get("en", "deletion_requested")
    engine = create_engine(sync_url(settings.hotline_database_url))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT status FROM deletion_requests")).all()
    engine.dispose()
    assert [row[0] for row in rows] == ["requested"]


def test_a_later_answer_that_reads_like_a_report_keeps_the_kind(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-keep-kind")
    body = validation(sender, "report_kind", "violence", intent="report_violence")
    body["tracker"]["slots"]["requested_slot"] = "report_workers"
    earlier = {"event": "slot", "name": "report_kind", "value": "document_confiscation"}
    body["tracker"]["events"].insert(0, earlier)
    assert slots_of(run(client, body))["report_kind"] == "document_confiscation"
    # Asked what happened, the worker's choice is taken.
    body = validation(sender, "report_kind", "violence", intent="report_violence")
    body["tracker"]["events"].insert(0, earlier)
    assert slots_of(run(client, body))["report_kind"] == "violence"


def test_a_report_left_unfinished_is_noticed_and_can_start_again(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-unfinished")
    earlier = {"report_kind": "unpaid_wages", "report_when": "since March"}
    started = run(client, call("action_start_report", sender, slots=earlier))
    # The question the form asked last is forgotten: it is asked afresh.
    assert slots_of(started) == {"report_unfinished": True, "requested_slot": None}
    fresh = run(client, call("action_start_report", sender, slots={"report_kind": "violence"}))
    assert slots_of(fresh) == {"report_unfinished": False, "requested_slot": None}
    resumed = run(client, call("action_resume_report", sender, slots=earlier))
    assert slots_of(resumed) == {"requested_slot": None}
    user = {"event": "user", "timestamp": time.time()}
    reset = call("action_reset_report", sender, slots=earlier)
    reset["tracker"]["events"] = [
        {**user, "parse_data": {"intent": {"name": "report_unpaid_wages"}}},
        {**user, "parse_data": {"intent": {"name": "deny"}}},
    ]
    again = slots_of(run(client, reset))
    assert again["report_when"] is None and "report_kind" not in again
    cancelled = slots_of(run(client, call("action_cancel_report", sender, slots=earlier)))
    assert cancelled["report_kind"] is None and cancelled["report_when"] is None


def test_a_worker_back_with_a_report_left_unfinished_is_offered_it(
    client: TestClient, settings: Settings
) -> None:
    sender = worker(client, settings, "w-back")
    run(client, call("action_greet", sender))  # welcomed on the first visit
    earlier = {"report_kind": "unpaid_wages", "report_when": "since March"}
    greeted = slots_of(run(client, call("action_greet", sender, slots=earlier)))
    assert greeted == {"greeting": "unfinished_report"}
    assert slots_of(run(client, call("action_greet", sender))) == {"greeting": "again"}
    # One who began with a report, never greeted, is offered it all the same.
    newcomer = worker(client, settings, "w-back-new")
    first = slots_of(run(client, call("action_greet", newcomer, slots=earlier)))
    assert first == {"greeting": "unfinished_report"}
    # "Start again" after a greeting drops the old kind too; after a new
    # report, the kind just reported stays.
    user = {"event": "user", "timestamp": time.time()}
    after_greeting = call("action_reset_report", sender, slots=earlier)
    after_greeting["tracker"]["events"] = [
        {**user, "parse_data": {"intent": {"name": "greet"}}},
        {**user, "parse_data": {"intent": {"name": "deny"}}},
    ]
    assert slots_of(run(client, after_greeting))["report_kind"] is None
    after_report = call("action_reset_report", sender, slots=earlier)
    after_report["tracker"]["events"] = [
        {**user, "parse_data": {"intent": {"name": "report_violence"}}},
        {**user, "parse_data": {"intent": {"name": "deny"}}},
    ]
    assert "report_kind" not in slots_of(run(client, after_report))
