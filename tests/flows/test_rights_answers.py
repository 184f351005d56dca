"""Rights answers: figures from the content files, chosen by the action."""

import re
from typing import Any

from fastapi.testclient import TestClient

from bot.language import LANGUAGES
from bot.texts import Texts
from core.settings import PROJECT_ROOT, Settings
from flows.actions.rights import MinimumWages
from tests.support.actions import HEADERS, action_call

WAGES = MinimumWages(PROJECT_ROOT / "flows" / "content" / "minimum_wage.yml")


def test_rates_of_the_content_brief() -> None:
    sakhon = WAGES.for_province("Samut Sakhon")
    assert sakhon is not None and sakhon.baht == 372 and sakhon.since == "2025-01-01"
    bangkok = WAGES.for_province("bangkok")
    assert bangkok is not None and bangkok.baht == 400 and bangkok.since == "2025-07-01"
    hat_yai = WAGES.for_province("Songkhla")
    assert hat_yai is not None and hat_yai.district == "Hat Yai" and hat_yai.baht == 380
    assert WAGES.for_province("Ranong") is None
    # Every figure keeps its source keys beside it.
    for province in ("Samut Sakhon", "Bangkok", "Songkhla", "Yala"):
        rate = WAGES.for_province(province)
        assert rate is not None and rate.sources


def answer_for(client: TestClient, intent: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    call = action_call("action_answer_rights", "nobody", entities)
    call["tracker"]["latest_message"]["intent"] = {"name": intent}
    response = client.post("/actions/webhook", json=call, headers=HEADERS)
    assert response.status_code == 200
    return {event["name"]: event["value"] for event in response.json()["events"]}


def test_the_action_chooses_the_answer(client: TestClient) -> None:
    assert answer_for(client, "ask_wage_info", [])["answer"] == "wage_ask_province"
    rate = answer_for(client, "ask_wage_info", [{"entity": "province", "value": "Samut Sakhon"}])
    assert rate == {
        "answer": "wage_rate",
        "province": "Samut Sakhon",
        "wage_baht": "372",
        "wage_from": "2025-01-01",
        "wage_district": None,
    }
    unknown = answer_for(client, "ask_wage_info", [{"entity": "province", "value": "Ranong"}])
    assert unknown["answer"] == "wage_range"
    overtime = answer_for(client, "ask_wage_info", [{"entity": "topic", "value": "overtime"}])
    assert overtime["answer"] == "wage_overtime"
    assert answer_for(client, "ask_fishing_rights", [])["answer"] == "fishing_rights"
    assert answer_for(client, "ask_dismissal", [])["answer"] == "dismissal"
    leave = answer_for(client, "ask_working_hours", [{"entity": "topic", "value": "leave"}])
    assert leave["answer"] == "holidays_leave"


def test_the_severance_answer_gives_the_whole_scale_in_every_language() -> None:
    texts = Texts(PROJECT_ROOT / "locales")
    # content-brief section 2 (s.118, S16, S17): days of wages by years of
    # work, in order, and where to check (1546 H1).
    scale = ["120", "30", "90", "180", "240", "300", "400"]
    for language in LANGUAGES:
        text = texts.get(language, "dismissal")
        numbers = iter(re.findall(r"\d+", text))
        assert all(figure in numbers for figure in scale), (language, text)
        assert "118" in text and "1546" in text, language


def test_nlg_fills_the_figures_in_the_workers_language(
    client: TestClient, settings: Settings
) -> None:
    request = {
        "response": "utter_wage_rate",
        "arguments": {},
        "tracker": {
            "sender_id": "nobody",
            "slots": {"province": "Bangkok", "wage_baht": "400", "wage_from": "2025-07-01"},
        },
    }
    response = client.post("/nlg", json=request, headers=HEADERS)
    text = response.json()["text"]
    assert "Bangkok" in text and "400" in text and "July 1, 2025" in text and "1546" in text


def test_province_names_in_the_workers_script() -> None:
    from bot.provinces import ProvinceNames

    names = ProvinceNames(PROJECT_ROOT / "nlu" / "data" / "provinces.yml")
    assert names.display("Samut Sakhon", "th") == "สมุทรสาคร (Samut Sakhon)"
    assert names.display("Samut Sakhon", "en") == "Samut Sakhon"
    # Unknown in a script: the official name alone, never a guess.
    assert names.display("Yasothon", "km") == "Yasothon"


def test_nlg_shows_the_province_in_thai_for_a_thai_worker(
    client: TestClient, settings: Settings
) -> None:
    from tests.support import ChatWorker
    from tests.support.actions import public_id_of

    worker = ChatWorker(client)
    worker.say("สวัสดีครับ")
    sender = public_id_of(settings.hotline_database_url, worker.channel_user_id)
    request = {
        "response": "utter_wage_rate",
        "arguments": {},
        "tracker": {
            "sender_id": sender,
            "slots": {"province": "Samut Sakhon", "wage_baht": "372", "wage_from": "2025-01-01"},
        },
    }
    text = client.post("/nlg", json=request, headers=HEADERS).json()["text"]
    assert "สมุทรสาคร (Samut Sakhon)" in text and "372" in text
