"""`hotline inbox drain`: the inbox of an app process that never came back is
stored, answered and sent by another."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from bot.channels.base import InboundMessage
from bot.conversations.models import MessageKind
from bot.inbox import Inbox
from core.settings import Settings, get_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.support import TEST_VAULT, stored_messages


def test_an_orphaned_inbox_is_stored_answered_and_emptied(
    settings: Settings,
    telegram_api: FakeTelegram,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orphaned = tmp_path / "inbox-of-a-lost-process"
    Inbox(orphaned, TEST_VAULT).keep(
        [
            InboundMessage(
                channel="telegram",
                channel_user_id="7360001",
                kind=MessageKind.TEXT,
                text="my boss took my passport",
                event_id="9100",
            )
        ]
    )
    for name, value in settings.model_dump(mode="json").items():
        if value is not None and not isinstance(value, dict | list):
            monkeypatch.setenv(name.upper(), str(value))
    for name in (
        "hotline_encryption_keys",
        "hotline_engine_token",
        "telegram_bot_token",
        "telegram_webhook_secret",
        "line_channel_secret",
        "line_channel_access_token",
    ):
        secret = getattr(settings, name)
        monkeypatch.setenv(name.upper(), secret.get_secret_value())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["inbox", "drain", str(orphaned)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 inbox file" in result.output
    assert Inbox(orphaned, TEST_VAULT).waiting() == []
    stored = stored_messages(settings.hotline_database_url, "7360001")
    assert stored[0]["original_text"] == "my boss took my passport"
    # The engine is down here: the worker still got the numbers, sent.
    assert [m["status"] for m in stored if m["direction"] == "outbound"][:1] == ["sent"]
    assert telegram_api.sent_texts()
