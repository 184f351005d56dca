"""The NLG and action endpoints that the engine calls."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from bot.texts import Texts
from core.database import sync_url
from core.settings import Settings
from tests.support import ChatWorker
from tests.support.actions import HEADERS, action_call, public_id_of


def language_choice_of(database_url: str, channel_user_id: str) -> str | None:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        value = connection.execute(
            text("SELECT language_choice FROM workers WHERE channel_user_id = :user"),
            {"user": channel_user_id},
        ).scalar_one()
    engine.dispose()
    return value  # type: ignore[no-any-return]


def nlg_request(response: str, sender_id: str) -> dict[str, Any]:
    return {"response": response, "arguments": {}, "tracker": {"sender_id": sender_id}}


def test_engine_endpoints_refuse_callers_without_the_token(client: TestClient) -> None:
    body = nlg_request("utter_greet", "x")
    assert client.post("/nlg", json=body).status_code == 401
    assert (
        client.post("/nlg", json=body, headers={"X-Hotline-Engine-Token": "no"}).status_code == 401
    )
    assert client.post("/actions/webhook", json={}).status_code == 401


def test_without_a_token_set_the_engine_endpoints_are_closed(settings: Settings) -> None:
    unset = settings.model_copy(update={"hotline_engine_token": None})
    with TestClient(create_app(unset)) as client:
        body = nlg_request("utter_greet", "x")
        for headers in ({}, {"X-Hotline-Engine-Token": ""}, HEADERS):
            assert client.post("/nlg", json=body, headers=headers).status_code == 401
            assert client.post("/actions/webhook", json={}, headers=headers).status_code == 401


def test_nlg_answers_in_the_conversations_language(client: TestClient, settings: Settings) -> None:
    worker = ChatWorker(client)
    worker.say("សួស្តី")
    sender = public_id_of(settings.hotline_database_url, worker.channel_user_id)
    response = client.post("/nlg", json=nlg_request("utter_greet", sender), headers=HEADERS)
    assert response.status_code == 200
    texts = Texts(settings.hotline_locales_dir)
    assert response.json()["text"] == texts.get("km", "greet")
    assert response.json()["buttons"][0]["payload"] == "/ask_hotlines"


def test_nlg_for_an_unknown_conversation_uses_the_default_language(client: TestClient) -> None:
    response = client.post("/nlg", json=nlg_request("utter_goodbye", "nobody"), headers=HEADERS)
    assert response.status_code == 200
    assert "Take care" in response.json()["text"]


def test_nlg_refuses_an_unknown_response(client: TestClient) -> None:
    response = client.post("/nlg", json=nlg_request("utter_nothing", "x"), headers=HEADERS)
    assert response.status_code == 404


def test_set_language_action_stores_the_choice(client: TestClient, settings: Settings) -> None:
    worker = ChatWorker(client)
    worker.say("hello")
    sender = public_id_of(settings.hotline_database_url, worker.channel_user_id)
    call = action_call("action_set_language", sender, [{"entity": "language", "value": "lo"}])
    response = client.post("/actions/webhook", json=call, headers=HEADERS)
    assert response.status_code == 200
    assert response.json()["events"] == [
        {"event": "slot", "timestamp": None, "name": "language_named", "value": True}
    ]
    assert language_choice_of(settings.hotline_database_url, worker.channel_user_id) == "lo"


def test_set_language_without_a_known_language_changes_nothing(
    client: TestClient, settings: Settings
) -> None:
    worker = ChatWorker(client)
    worker.say("hello")
    sender = public_id_of(settings.hotline_database_url, worker.channel_user_id)
    call = action_call("action_set_language", sender, [{"entity": "language", "value": "xx"}])
    response = client.post("/actions/webhook", json=call, headers=HEADERS)
    assert response.json()["events"][0]["value"] is False
    assert language_choice_of(settings.hotline_database_url, worker.channel_user_id) is None


def test_unknown_action_is_404_and_missing_domain_asks_for_it(client: TestClient) -> None:
    call = action_call("action_nothing", "x", [])
    assert client.post("/actions/webhook", json=call, headers=HEADERS).status_code == 404
    call = action_call("action_greet", "x", [])
    del call["domain"]
    assert client.post("/actions/webhook", json=call, headers=HEADERS).status_code == 449


def test_greeting_action_says_whether_this_is_the_first_contact(
    client: TestClient, settings: Settings
) -> None:
    worker = ChatWorker(client)
    worker.say("hello")
    sender = public_id_of(settings.hotline_database_url, worker.channel_user_id)
    call = action_call("action_greet", sender, [])
    first = client.post("/actions/webhook", json=call, headers=HEADERS).json()
    again = client.post("/actions/webhook", json=call, headers=HEADERS).json()
    assert first["events"][0] | {"timestamp": None} == {
        "event": "slot",
        "name": "greeting",
        "value": "welcome",
        "timestamp": None,
    }
    assert again["events"][0]["value"] == "again"


def test_a_second_miss_in_a_row_is_noticed(client: TestClient) -> None:
    def user(intent: str) -> dict[str, Any]:
        return {"event": "user", "parse_data": {"intent": {"name": intent}}}

    call = action_call("action_not_understood", "x", [])
    call["tracker"]["events"] = [user("greet"), user("nlu_fallback")]
    once = client.post("/actions/webhook", json=call, headers=HEADERS).json()
    call["tracker"]["events"] = [user("nlu_fallback"), user("nlu_fallback")]
    twice = client.post("/actions/webhook", json=call, headers=HEADERS).json()
    assert once["events"][0]["value"] is False
    assert twice["events"][0]["value"] is True
