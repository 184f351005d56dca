"""Nothing stored is lost across a restart."""

from fastapi.testclient import TestClient

from api.app import create_app
from bot.channels.base import InboundMessage
from bot.conversations.models import MessageKind
from core.settings import Settings
from tests.fakes.line_api import FakeLine
from tests.support import eventually, stored_messages


def test_a_message_stored_before_a_crash_is_answered_after_the_restart(
    settings: Settings, line_api: FakeLine
) -> None:
    inbound = InboundMessage(
        channel="line",
        channel_user_id="U-crash",
        kind=MessageKind.TEXT,
        text="hello",
        event_id="01HOTLINECRASH00000000001",
    )
    # Stored, then the process stops before answering (accept does not
    # queue the answer; the webhook route does that after storing).
    with TestClient(create_app(settings)) as client:
        state = client.app.state.hotline  # type: ignore[attr-defined]
        assert client.portal.call(state.dialogue.accept, inbound) is not None
    assert [m["status"] for m in stored_messages(settings.hotline_database_url, "U-crash")] == [
        "received"
    ]
    assert line_api.requests == []

    with TestClient(create_app(settings)):
        line_api.wait_for("/message/push")
        eventually(
            lambda: (
                stored_messages(settings.hotline_database_url, "U-crash")[-1]["status"] == "sent"
            )
        )
    statuses = [m["status"] for m in stored_messages(settings.hotline_database_url, "U-crash")]
    assert statuses == ["engine_unavailable", "sent"]
