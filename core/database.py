"""Database engine and sessions.

Settings hold the synchronous URL form (`sqlite:///...`, `postgresql://...`)
that Alembic uses; the app runs the same database through an async driver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import DateTime, Dialect, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from core import sqlite_driver
from core.encrypted_columns import attach
from core.vault import Vault


class UTCDateTime(TypeDecorator[datetime]):
    """Times stored and read as UTC.

    SQLite keeps no time zone and hands back naive datetimes; PostgreSQL
    hands back aware ones. Reading both as aware UTC keeps every comparison
    with `utcnow()` correct on either, without special cases at the callers.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


def sync_url(url: str) -> str:
    """The URL Alembic and command-line tools use."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """A PostgreSQL URL as libpq (and psycopg used directly) reads it."""
    return str(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))


def async_url(url: str) -> str:
    parsed = make_url(sync_url(url))
    if parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def ensure_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the console read while the channels write; foreign keys are
    # off by default in SQLite and the schema relies on them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={sqlite_driver.BUSY_MILLISECONDS}")
    # Deleted or overwritten rows are zeroed, not left readable in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_engine(url: str, vault: Vault, *, connections: int = 5) -> AsyncEngine:
    """`connections`: kept open in the pool (as many again may be opened for
    a moment when they are all in use)."""
    ensure_sqlite_folder(url)
    # A ping before each use finds a server connection that dropped; a SQLite
    # file has none, and there the ping costs a round trip per session.
    sqlite = make_url(url).get_backend_name() == "sqlite"
    engine = create_async_engine(
        async_url(url),
        pool_pre_ping=not sqlite,
        pool_size=connections,
        max_overflow=connections,
        # One thread round trip per statement instead of four (see the module).
        connect_args={"async_creator_fn": sqlite_driver.connect} if sqlite else {},
    )
    attach(engine.sync_engine.dialect, vault)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_reading_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that only read, each statement on its own.

    On PostgreSQL every session otherwise begins a transaction (BEGIN) and
    ends it (ROLLBACK) with a round trip to the server each, around reads on
    the way of every turn (the outbox, the engine's calls for responses).
    SQLite begins a transaction only before a write: there the plain
    sessions serve. Nothing may write through these.
    """
    if engine.dialect.name != "postgresql":
        return create_sessionmaker(engine)
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )
