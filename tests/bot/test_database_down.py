"""A database that does not answer: nothing a worker sends is lost.

LINE and Telegram messages are acknowledged once they are on disk (the
inbox), so they wait there, encrypted, and are stored and answered when the
database is back. What cannot wait without a database says 503.
"""

from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from tests.fakes.line_api import FakeLine, sign, text_event, webhook_body
from tests.fakes.telegram_api import WEBHOOK_SECRET, FakeTelegram, text_update
from tests.support import closed_port, eventually, stored_messages

WORDS = "my boss keeps my passport"


def test_webhooks_are_kept_on_disk_until_the_database_is_back(
    settings: Settings, line_api: FakeLine, telegram_api: FakeTelegram
) -> None:
    down = settings.model_copy(
        update={"hotline_database_url": f"postgresql://hotline@127.0.0.1:{closed_port()}/hotline"}
    )
    with TestClient(create_app(down)) as client:
        body = webhook_body(text_event("U-db-down", WORDS))
        line = client.post("/webhooks/line", content=body, headers={"x-line-signature": sign(body)})
        assert line.status_code == 200
        telegram = client.post(
            "/webhooks/telegram",
            json=text_update(1, 4242, WORDS),
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )
        assert telegram.status_code == 200
        # The web chat answers in its response, which needs the database.
        chat = client.post("/webchat/messages", json={"text": "hello"})
        assert chat.status_code == 503
        # And no identity was given for a worker that could not be made.
        assert "set-cookie" not in chat.headers
        assert client.get("/healthz").status_code == 503
    waiting = sorted(settings.hotline_inbox_dir.glob("*.inbound"))
    assert len(waiting) == 2
    for path in waiting:
        assert WORDS.encode() not in path.read_bytes()  # encrypted on disk
    assert line_api.requests == [] and telegram_api.calls("/sendMessage") == []

    # The database is back: both are stored, answered, and leave the inbox.
    with TestClient(create_app(settings)):
        for worker in ("U-db-down", "4242"):
            eventually(
                lambda worker=worker: (
                    [
                        (m["direction"], m["text"])
                        for m in stored_messages(settings.hotline_database_url, worker)
                    ][:1]
                    == [("inbound", WORDS)]
                )
            )
            eventually(
                lambda worker=worker: any(
                    m["direction"] == "outbound" and m["status"] == "sent"
                    for m in stored_messages(settings.hotline_database_url, worker)
                )
            )
    assert list(settings.hotline_inbox_dir.glob("*.inbound")) == []
