"""Bad input gets a defined answer, never a 500 (property-based)."""

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.line_api import event, sign
from tests.fakes.telegram_api import WEBHOOK_SECRET

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(body=st.binary(max_size=2000) | json_values.map(lambda v: json.dumps(v).encode()))
def test_line_any_signed_body(client: TestClient, body: bytes) -> None:
    response = client.post("/webhooks/line", content=body, headers={"x-line-signature": sign(body)})
    assert response.status_code in (200, 400), (body, response.status_code)


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["type", "message", "source", "postback", "replyToken", "timestamp"]),
        json_values,
        max_size=6,
    )
)
def test_line_events_with_odd_fields(client: TestClient, fields: dict[str, Any]) -> None:
    body = json.dumps({"destination": "x", "events": [{**event("message", "U-fuzz"), **fields}]})
    raw = body.encode()
    response = client.post("/webhooks/line", content=raw, headers={"x-line-signature": sign(raw)})
    assert response.status_code in (200, 400), (fields, response.status_code)


@FUZZ
@given(update=json_values)
def test_telegram_any_update(client: TestClient, update: Any) -> None:
    response = client.post(
        "/webhooks/telegram",
        content=json.dumps(update).encode(),
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    assert response.status_code in (200, 400), (update, response.status_code)


@FUZZ
@given(
    text=st.text(max_size=3000),
    sender=st.none() | st.booleans() | st.integers() | st.text(max_size=80),
)
def test_webchat_any_text_and_sender(client: TestClient, text: str, sender: Any) -> None:
    # A sender_id, of any shape, is ignored: the cookie is the worker.
    response = client.post("/webchat/messages", json={"sender_id": sender, "text": text})
    assert response.status_code in (200, 422), (text, sender, response.status_code)
