"""The database alone reveals no worker's words."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from core.database import sync_url
from core.settings import Settings
from core.vault import Vault, VaultError
from tests.support import (
    TEST_ENCRYPTION_KEY,
    TEST_VAULT,
    ChatWorker,
    execute,
    rows,
    stored_messages,
)


def test_message_texts_are_not_in_the_database_file(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    secret_words = "boss keeps my passport in Mahachai 0812345678"
    worker = ChatWorker(client)
    worker.say(secret_words)
    # Decrypted with the key, the words are all there...
    stored = stored_messages(settings.hotline_database_url, worker.channel_user_id)
    assert stored[0]["original_text"] == secret_words
    # ...and nowhere in the database without it.
    from sqlalchemy import create_engine, text

    engine = create_engine(sync_url(settings.hotline_database_url))
    with engine.connect() as connection:
        dump = " ".join(
            str(value)
            for table in ("messages", "conversations", "workers")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    engine.dispose()
    # Nor is the web chat worker's key to their conversation, the cookie.
    assert worker.token is not None
    for fragment in ("passport", "Mahachai", "0812345678", worker.token):
        assert fragment not in dump
    if settings.hotline_database_url.startswith("sqlite:///"):
        raw = Path(settings.hotline_database_url.removeprefix("sqlite:///")).read_bytes()
        assert b"passport" not in raw


def test_keys_rotate_newest_first() -> None:
    old = Vault([TEST_ENCRYPTION_KEY])
    token = old.encrypt_text("pay slip")
    newer_key = Fernet.generate_key().decode()
    both = Vault([newer_key, TEST_ENCRYPTION_KEY])
    assert both.decrypt_text(token) == "pay slip"
    rotated = both.rotate(token)
    assert Vault([newer_key]).decrypt_text(rotated) == "pay slip"
    with pytest.raises(VaultError):
        Vault([newer_key]).decrypt_text(token)


def test_production_refuses_to_run_without_keys() -> None:
    with pytest.raises(ValueError, match="HOTLINE_ENCRYPTION_KEYS"):
        Settings(hotline_environment="production", hotline_engine_token="t")


def test_rotation_moves_everything_to_the_new_key(client: TestClient, settings: Settings) -> None:
    from bot import tables
    from bot.attachments import AttachmentStore
    from bot.channels.base import InboundMessage
    from bot.conversations.models import MessageKind
    from bot.inbox import Inbox
    from core.keys import rotate

    ChatWorker(client).say("my words")
    store = AttachmentStore(settings.hotline_attachments_dir, Vault([TEST_ENCRYPTION_KEY]))
    saved = store.describe(b"voice note")
    store.write(saved, b"voice note")
    # A message between a webhook's 200 and the database, waiting in the inbox.
    waiting_folder = settings.hotline_inbox_dir.parent / "rotated-inbox"
    Inbox(waiting_folder, Vault([TEST_ENCRYPTION_KEY])).keep(
        [
            InboundMessage(
                channel="line",
                channel_user_id="U-waiting",
                kind=MessageKind.TEXT,
                text="still here",
            )
        ]
    )
    # What the engine remembers of the conversation (it writes it itself).
    [(public_id,)] = rows(settings.hotline_database_url, "SELECT public_id FROM conversations")
    execute(
        settings.hotline_database_url,
        "INSERT INTO engine_trackers (sender_id, tracker, updated_at) "
        "VALUES (:id, :tracker, '2026-12-07 10:00:00')",
        id=public_id,
        tracker=TEST_VAULT.encrypt_text('{"events": ["my words"]}'),
    )
    newer = Fernet.generate_key().decode()
    result = rotate(
        database_url=settings.hotline_database_url,
        vault=Vault([newer, TEST_ENCRYPTION_KEY]),
        attachments_dir=settings.hotline_attachments_dir,
        metadata=tables.metadata,
        folders=[waiting_folder],
    )
    assert result.values >= 3 and result.files == 2
    only_new = Vault([newer])
    inbox = Inbox(waiting_folder, only_new)
    assert [m.text for path in inbox.waiting() for m in inbox.read(path)] == ["still here"]
    assert AttachmentStore(settings.hotline_attachments_dir, only_new).read(saved.storage_key) == (
        b"voice note"
    )
    from sqlalchemy import create_engine, text

    engine = create_engine(sync_url(settings.hotline_database_url))
    with engine.connect() as connection:
        tokens = [row[0] for row in connection.execute(text("SELECT original_text FROM messages"))]
    engine.dispose()
    assert "my words" in [only_new.decrypt_text(t) for t in tokens if t]
    [(tracker,)] = rows(settings.hotline_database_url, "SELECT tracker FROM engine_trackers")
    assert only_new.decrypt_text(tracker) == '{"events": ["my words"]}'
