"""The engine's conversation store and turn locks, in the engine's Python,
on a database migrated by the app, as the engine runs them."""

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, exc, text

from core.vault import Vault
from flows import stores
from tests.redis_server import running_redis

ROOT = Path(__file__).resolve().parents[2]
APP_HOTLINE = ROOT / ".venv" / "bin" / "hotline"
WORDS = "my boss keeps my passport"
DOMAIN = Domain.load(str(ROOT / "flows" / "domain.yml"))


def store() -> stores.ConversationStore:
    """A store as Rasa makes one from flows/endpoints.yml."""
    return stores.ConversationStore(domain=DOMAIN)


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def database(tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database at the app's current schema, with one conversation."""
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    environment = {**os.environ, "HOTLINE_DATABASE_URL": url, "HOTLINE_ENCRYPTION_KEYS": key}
    subprocess.run([str(APP_HOTLINE), "db", "upgrade"], env=environment, check=True, cwd=ROOT)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO workers (id, channel, channel_user_id, created_at) "
                "VALUES (1, 'line', 'U1', '2026-12-07 10:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO conversations (id, public_id, worker_id, channel, owner, "
                "created_at, updated_at) VALUES (1, 'c0ffee', 1, 'line', 'bot', "
                "'2026-12-07 10:00:00', '2026-12-07 10:00:00')"
            )
        )
    engine.dispose()
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    monkeypatch.setenv("HOTLINE_ENCRYPTION_KEYS", key)
    monkeypatch.delenv("HOTLINE_REDIS_URL", raising=False)
    return url


def half_filled_report(sender_id: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker.from_events(
        sender_id,
        [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered(WORDS, {"name": "report_passport_withheld"}),
            SlotSet("report_when", "last week"),
            SlotSet("report_where", "Samut Sakhon"),
        ],
        slots=DOMAIN.slots,
    )
    return tracker


def stored_token(url: str, sender_id: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(
                connection.execute(
                    text("SELECT tracker FROM engine_trackers WHERE sender_id = :s"),
                    {"s": sender_id},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_new_store_carries_the_report_on_with_its_answers(database: str) -> None:
    asyncio.run(store().save(half_filled_report("c0ffee")))
    # Another store, as after a restart or on another engine.
    again = asyncio.run(store().retrieve("c0ffee"))
    assert again is not None
    assert again.get_slot("report_when") == "last week"
    assert again.get_slot("report_where") == "Samut Sakhon"
    assert again.latest_message.text == WORDS
    assert asyncio.run(store().keys()) == ["c0ffee"]


def test_the_worker_s_words_are_stored_encrypted_with_the_hotline_s_keys(
    database: str, key: str
) -> None:
    asyncio.run(store().save(half_filled_report("c0ffee")))
    token = stored_token(database, "c0ffee")
    assert WORDS not in token and "Samut Sakhon" not in token
    assert WORDS in Vault([key]).decrypt_text(token)


def test_a_saved_tracker_replaces_the_last_one(database: str) -> None:
    memory = store()
    tracker = half_filled_report("c0ffee")
    asyncio.run(memory.save(tracker))
    tracker.update(SlotSet("report_when", "yesterday"))
    asyncio.run(memory.save(tracker))
    again = asyncio.run(memory.retrieve("c0ffee"))
    assert again is not None and again.get_slot("report_when") == "yesterday"
    assert asyncio.run(memory.keys()) == ["c0ffee"]


def test_only_the_current_session_is_read_back_for_a_turn(database: str) -> None:
    memory = store()
    tracker = half_filled_report("c0ffee")
    for event in (ActionExecuted("action_session_start"), SessionStarted()):
        tracker.update(event)
    tracker.update(UserUttered("hello again", {"name": "greet"}))
    asyncio.run(memory.save(tracker))
    current = asyncio.run(memory.retrieve("c0ffee"))
    whole = asyncio.run(memory.retrieve_full_tracker("c0ffee"))
    assert current is not None and whole is not None
    assert [e.text for e in current.events if isinstance(e, UserUttered)] == ["hello again"]
    assert [e.text for e in whole.events if isinstance(e, UserUttered)] == [WORDS, "hello again"]


def test_no_tracker_outlives_its_conversation(database: str) -> None:
    memory = store()
    asyncio.run(memory.save(half_filled_report("c0ffee")))
    engine = create_engine(database)
    with engine.begin() as connection:
        connection.execute(text("PRAGMA foreign_keys=ON"))
        connection.execute(text("DELETE FROM conversations WHERE public_id = 'c0ffee'"))
    engine.dispose()
    assert asyncio.run(memory.retrieve("c0ffee")) is None
    # An engine finishing a turn after the erasure cannot write it back.
    with pytest.raises(exc.IntegrityError):
        asyncio.run(memory.save(half_filled_report("c0ffee")))
    assert asyncio.run(memory.keys()) == []


def test_a_tracker_under_a_key_the_hotline_no_longer_holds_is_not_read(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(store().save(half_filled_report("c0ffee")))
    monkeypatch.setenv("HOTLINE_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    with pytest.raises(Exception, match="no longer holds"):
        asyncio.run(store().retrieve("c0ffee"))


def test_production_refuses_to_keep_conversations_without_keys(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOTLINE_ENCRYPTION_KEYS")
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    with pytest.raises(Exception, match="HOTLINE_ENCRYPTION_KEYS"):
        store()


def test_the_engine_reaches_the_app_s_database_with_its_own_drivers() -> None:
    assert (
        stores.engine_database_url("postgresql+psycopg://u:p%40ss@db:5432/hotline")
        == "postgresql+psycopg2://u:p%40ss@db:5432/hotline"
    )
    assert stores.engine_database_url("sqlite+aiosqlite:////data/h.db") == "sqlite:////data/h.db"


def test_turn_locks_stay_in_memory_without_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_REDIS_URL", raising=False)
    assert isinstance(stores.TurnLocks()._locks, InMemoryLockStore)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with running_redis(tmp_path, database=2) as url:
        yield url


def test_two_engines_share_one_conversation_s_turn_order_in_redis(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_REDIS_URL", redis_url)
    first, second = stores.TurnLocks(), stores.TurnLocks()
    assert isinstance(first._locks, RedisLockStore)
    ticket = first.issue_ticket("c0ffee")
    waiting = second.issue_ticket("c0ffee")
    # The second engine sees the first's ticket and waits its turn.
    assert second.get_lock("c0ffee").is_locked(waiting)
    assert not second.get_lock("c0ffee").is_locked(ticket)
    first.finish_serving("c0ffee", ticket)
    assert not second.get_lock("c0ffee").is_locked(waiting)
