"""Migrations build the schema the models describe, from an empty database,
and bring the data already stored along."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, Table, create_engine, insert, select
from sqlalchemy import text as sa_text

from api import schema
from bot import tables
from core.database import sync_url
from core.settings import get_settings
from tests.support import TEST_ENCRYPTION_KEY, TEST_VAULT, drop_database, fresh_database_url


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), tables.metadata)
    engine.dispose()
    assert differences == []


def test_a_reports_contact_moves_from_its_answers_to_the_cases_contact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_database_url(tmp_path)
    engine = create_engine(sync_url(url))
    try:
        command.upgrade(schema.alembic_config(url), "0006")
        cases = Table("cases", MetaData(), autoload_with=engine)
        filed = {
            "phone": {"when": "since March", "contact": "089-147-2583"},
            "chat": {"when": "last week", "contact": "chat"},
            "none given": {"when": "today"},
        }
        now = datetime.now(UTC)
        with engine.begin() as connection:
            connection.execute(
                insert(cases),
                [
                    {
                        "reference": reference,
                        "kind": "unpaid_wages",
                        "answers": TEST_VAULT.encrypt_text(json.dumps(answers)),
                        "contact": None,
                        "indicators": [],
                        "language": "my",
                        "channel": "line",
                        "in_danger": False,
                        "consent_to_share": False,
                        "status": "new",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for reference, answers in filed.items()
                ],
            )
        # The migration reads the hotline's keys as the app does.
        monkeypatch.setenv("HOTLINE_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
        get_settings.cache_clear()
        schema.upgrade(url)

        with engine.connect() as connection:
            rows = connection.execute(select(cases.c.reference, cases.c.answers, cases.c.contact))
            moved = {
                reference: (
                    json.loads(TEST_VAULT.decrypt_text(answers)),
                    None if contact is None else json.loads(TEST_VAULT.decrypt_text(contact)),
                )
                for reference, answers, contact in rows
            }
        assert moved == {
            "phone": ({"when": "since March"}, {"by": "phone", "phone": "089-147-2583"}),
            "chat": ({"when": "last week"}, {"by": "chat"}),
            "none given": ({"when": "today"}, None),
        }
    finally:
        get_settings.cache_clear()
        engine.dispose()
        drop_database(url)


def test_payloads_and_file_hashes_written_in_clear_are_encrypted_and_tags_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_database_url(tmp_path)
    engine = create_engine(sync_url(url))
    try:
        command.upgrade(schema.alembic_config(url), "0012")
        meta = MetaData()
        workers, conversations, messages, attachments = (
            Table(name, meta, autoload_with=engine)
            for name in ("workers", "conversations", "messages", "attachments")
        )
        now = datetime.now(UTC)
        with engine.begin() as connection:
            worker = connection.execute(
                insert(workers).values(channel="telegram", channel_user_id="7001", created_at=now)
            ).inserted_primary_key[0]
            conversation = connection.execute(
                insert(conversations).values(
                    worker_id=worker,
                    channel="telegram",
                    public_id="c0ffee",
                    owner="bot",
                    priority=0,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            common = {"conversation_id": conversation, "created_at": now, "text": "x"}
            photo, waiting = (
                connection.execute(insert(messages).values(**values)).inserted_primary_key[0]
                for values in (
                    {
                        **common,
                        "direction": "inbound",
                        "kind": "image",
                        "status": "answered",
                        "payload": '{"file_name": "passport-of-Aye.jpg"}',
                    },
                    {
                        **common,
                        "direction": "outbound",
                        "kind": "text",
                        "status": "sent",
                        "payload": "handoff.waiting",
                    },
                )
            )
            connection.execute(
                insert(attachments).values(
                    message_id=photo,
                    content_type="image/jpeg",
                    size=3,
                    sha256="ab" * 32,
                    storage_key="ab/" + "ab" * 32,
                    created_at=now,
                )
            )
        monkeypatch.setenv("HOTLINE_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
        get_settings.cache_clear()
        schema.upgrade(url)

        with engine.connect() as connection:
            rows = {
                row.id: (row.payload, row.tag)
                for row in connection.execute(sa_text("SELECT id, payload, tag FROM messages"))
            }
            [sha256] = connection.execute(sa_text("SELECT sha256 FROM attachments")).scalars()
        payload, tag = rows[photo]
        assert "passport" not in payload and tag is None
        assert json.loads(TEST_VAULT.decrypt_text(payload)) == {"file_name": "passport-of-Aye.jpg"}
        assert rows[waiting] == (None, "handoff.waiting")
        assert sha256 != "ab" * 32 and TEST_VAULT.decrypt_text(sha256) == "ab" * 32
    finally:
        get_settings.cache_clear()
        engine.dispose()
        drop_database(url)
