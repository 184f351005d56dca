"""A database that does not answer: webhooks say 503 so the platforms redeliver."""

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.fakes.line_api import sign, text_event, webhook_body
from tests.fakes.telegram_api import WEBHOOK_SECRET, text_update
from tests.support import closed_port


def test_webhooks_answer_503_and_acknowledge_nothing(settings: Settings) -> None:
    down = settings.model_copy(
        update={"hotline_database_url": f"postgresql://hotline@127.0.0.1:{closed_port()}/hotline"}
    )
    with TestClient(create_app(down)) as client:
        body = webhook_body(text_event("U-db-down", "hello"))
        line = client.post("/webhooks/line", content=body, headers={"x-line-signature": sign(body)})
        assert line.status_code == 503
        telegram = client.post(
            "/webhooks/telegram",
            json=text_update(1, 1, "hello"),
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )
        assert telegram.status_code == 503
        chat = client.post("/webchat/messages", json={"sender_id": "w", "text": "hello"})
        assert chat.status_code == 503
        assert client.get("/healthz").status_code == 503
