"""Where the engine keeps its conversations and its turn locks.

Rasa loads both classes from `flows/endpoints.yml`. They run in the engine's
Python (3.10, Rasa 3.6 and its SQLAlchemy 1.4), not in the app's, so they
import only `core.vault` and `core.places`, which need nothing else.

- `ConversationStore` keeps every conversation's tracker in the hotline's
  own database (table `engine_trackers`, made by the app's migrations),
  encrypted with the hotline's keys. A restarted engine, or another engine,
  carries a half-filled report on from its next question. Erasure and
  retention remove a tracker with its conversation (a cascading foreign
  key), so they work whether or not the engine runs.
- `TurnLocks` orders one conversation's turns across engines with Rasa's
  Redis lock store when `HOTLINE_REDIS_URL` is set, in memory otherwise (one
  engine, the embedded default).

Settings come from the engine's environment: HOTLINE_DATABASE_URL,
HOTLINE_ENCRYPTION_KEYS, HOTLINE_DEVELOPMENT_KEY_FILE, HOTLINE_ENVIRONMENT,
HOTLINE_REDIS_URL, the same names the app reads. `scripts/run` exports
`.env` to both processes, so they agree on the database and the keys.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SerializedTrackerAsText, TrackerStore
from rasa.shared.core.trackers import (
    DialogueStateTracker,
    get_trackers_for_conversation_sessions,
)
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url

from core.places import DEFAULT_DATABASE_URL, DEFAULT_DEVELOPMENT_KEY_FILE
from core.vault import Vault, vault_for

logger = logging.getLogger(__name__)

# Only the columns the engine writes; the app's model (EngineTracker) and
# migration 0008 define the table.
TRACKERS = Table(
    "engine_trackers",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(32), nullable=False, unique=True),
    Column("tracker", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
# Several engines share a Redis; the prefix keeps the hotline's locks apart
# from anything else kept there.
LOCK_PREFIX = "hotline"
SQLITE_BUSY_MILLISECONDS = 10_000


def setting(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def engine_database_url(url: str) -> str:
    """The app's database URL for the engine's synchronous drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def hotline_vault() -> Vault:
    return vault_for(
        keys=setting("HOTLINE_ENCRYPTION_KEYS"),
        development_key_file=Path(
            setting("HOTLINE_DEVELOPMENT_KEY_FILE") or DEFAULT_DEVELOPMENT_KEY_FILE
        ),
        production=setting("HOTLINE_ENVIRONMENT") == "production",
    )


def _database() -> Engine:
    url = engine_database_url(setting("HOTLINE_DATABASE_URL") or DEFAULT_DATABASE_URL)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, future=True)
    engine = create_engine(url, connect_args={"check_same_thread": False}, future=True)

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        # Without it SQLite ignores the key that ties a tracker to its
        # conversation, and an erased conversation's tracker could come back.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MILLISECONDS}")
        cursor.close()

    return engine


def _now() -> datetime:
    # The engine's Python is 3.10: no datetime.UTC.
    return datetime.now(timezone.utc)  # noqa: UP017


class ConversationStore(TrackerStore, SerializedTrackerAsText):
    """Trackers in the hotline's database, encrypted, one row per conversation.

    A row holds the conversation's current session, which is all the engine
    reads: the hotline's own messages are the record of what was said.
    """

    def __init__(
        self,
        domain: Any = None,
        host: str | None = None,
        event_broker: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self._vault = hotline_vault()
        self._database = _database()
        self._upsert = (
            postgresql.insert if self._database.dialect.name == "postgresql" else sqlite.insert
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        token = self._vault.encrypt_text(self.serialise_tracker(tracker))
        # The drivers block; the engine's event loop keeps serving other turns.
        await asyncio.to_thread(self._write, tracker.sender_id, token)

    def _write(self, sender_id: str, token: str) -> None:
        insert = self._upsert(TRACKERS).values(
            sender_id=sender_id, tracker=token, updated_at=_now()
        )
        statement = insert.on_conflict_do_update(
            index_elements=[TRACKERS.c.sender_id],
            set_={"tracker": insert.excluded.tracker, "updated_at": insert.excluded.updated_at},
        )
        with self._database.begin() as connection:
            connection.execute(statement)

    def _read(self, sender_id: str) -> str | None:
        with self._database.connect() as connection:
            token: str | None = connection.execute(
                select(TRACKERS.c.tracker).where(TRACKERS.c.sender_id == sender_id)
            ).scalar_one_or_none()
            return token

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._retrieve(sender_id, all_sessions=False)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return await self._retrieve(conversation_id, all_sessions=True)

    async def _retrieve(self, sender_id: str, *, all_sessions: bool) -> DialogueStateTracker | None:
        token = await asyncio.to_thread(self._read, sender_id)
        if token is None:
            return None
        tracker = self.deserialise_tracker(sender_id, self._vault.decrypt_text(token))
        if tracker is None or all_sessions:
            return tracker
        sessions = get_trackers_for_conversation_sessions(tracker)
        return sessions[-1] if len(sessions) > 1 else tracker

    async def exists(self, conversation_id: str) -> bool:
        return await asyncio.to_thread(self._read, conversation_id) is not None

    async def keys(self) -> Iterable[str]:
        def read() -> list[str]:
            with self._database.connect() as connection:
                return list(connection.execute(select(TRACKERS.c.sender_id)).scalars())

        return await asyncio.to_thread(read)


def redis_settings(url: str) -> dict[str, Any]:
    """Rasa's Redis lock store takes the parts of a redis:// URL one by one."""
    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 6379,
        "db": int(database) if database else 0,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_ssl": parts.scheme == "rediss",
    }


class TurnLocks(LockStore):
    """One turn at a time per conversation: in Redis across engines when
    HOTLINE_REDIS_URL is set, in this engine's memory otherwise."""

    def __init__(self, endpoint_config: Any = None) -> None:
        url = setting("HOTLINE_REDIS_URL")
        self._locks: LockStore = (
            RedisLockStore(key_prefix=LOCK_PREFIX, **redis_settings(url))
            if url
            else InMemoryLockStore()
        )
        logger.info("turn locks kept %s", "in Redis" if url else "in memory")

    def get_lock(self, conversation_id: str) -> Any:
        return self._locks.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self._locks.delete_lock(conversation_id)

    def save_lock(self, lock: Any) -> None:
        self._locks.save_lock(lock)
