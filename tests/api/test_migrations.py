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
