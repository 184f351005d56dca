"""The SQLite driver: reads on the event loop, writes (and waits for the write lock) on a thread."""

import asyncio
import inspect
import sqlite3
import threading
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.database import create_engine
from core.sqlite_driver import BUSY_MILLISECONDS, OneTripConnection
from tests.support import TEST_VAULT


def test_the_aiosqlite_internals_the_driver_uses_are_still_there(tmp_path: Path) -> None:
    """`_execute` (run a function on the connection's thread) and `_conn` (the
    sqlite3 connection there): if a new aiosqlite drops or changes them, this
    names what broke before anything subtler fails."""

    async def scenario() -> None:
        connection = await aiosqlite.connect(tmp_path / "internals.db")
        try:
            assert inspect.iscoroutinefunction(aiosqlite.Connection._execute), (
                "aiosqlite.Connection._execute is no longer a coroutine function"
            )
            on_thread = await connection._execute(lambda: threading.get_ident())
            assert on_thread != threading.get_ident(), "_execute no longer runs on its thread"
            raw = await connection._execute(lambda: connection._conn)
            assert isinstance(raw, sqlite3.Connection), "aiosqlite's _conn is not sqlite3's"
        finally:
            await connection.close()

    asyncio.run(scenario())


def test_statements_read_write_and_fail_as_with_aiosqlite(tmp_path: Path) -> None:
    async def scenario() -> None:
        engine = create_engine(f"sqlite:///{tmp_path / 'driver.db'}", TEST_VAULT)
        try:
            async with engine.begin() as connection:
                raw = await connection.get_raw_connection()
                driver = raw.driver_connection
                assert isinstance(driver, OneTripConnection)
                await connection.execute(
                    text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)")
                )
                inserted = await connection.execute(
                    text("INSERT INTO notes (body) VALUES (:body) RETURNING id"), {"body": "a"}
                )
                assert inserted.scalar_one() == 1
                # A write began a transaction: commit and rollback will act.
                assert driver._writing
                # Many rows at once (executemany), then more than one fetch's worth.
                await connection.execute(
                    text("INSERT INTO notes (body) VALUES (:body)"),
                    [{"body": f"n{number}"} for number in range(200)],
                )
                rows = (await connection.execute(text("SELECT body FROM notes ORDER BY id"))).all()
                assert [row.body for row in rows][:3] == ["a", "n0", "n1"]
                assert len(rows) == 201
                updated = await connection.execute(
                    text("UPDATE notes SET body = body || '!' WHERE body LIKE 'n1%'")
                )
                assert updated.rowcount == 111  # n1, n10-n19, n100-n199
                streamed = await connection.stream(text("SELECT id FROM notes ORDER BY id"))
                assert len([row async for row in streamed]) == 201
            with pytest.raises(IntegrityError):
                async with engine.begin() as connection:
                    await connection.execute(text("INSERT INTO notes (body) VALUES ('a')"))
            async with engine.connect() as connection:
                count = await connection.execute(text("SELECT count(*) FROM notes"))
                assert count.scalar_one() == 201  # the failed insert left nothing
                # Reading began nothing to commit or roll back.
                raw = await connection.get_raw_connection()
                assert not raw.driver_connection._writing
        finally:
            await engine.dispose()

    asyncio.run(scenario())


def test_a_write_that_meets_the_lock_waits_on_the_thread_not_on_the_event_loop(
    tmp_path: Path,
) -> None:
    """A write that meets the lock waits on its thread; the event loop goes on."""

    async def scenario() -> None:
        path = tmp_path / "locked.db"
        engine = create_engine(f"sqlite:///{path}", TEST_VAULT)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE notes (body TEXT)"))
            # Another process (an administrator's command) holds the write lock.
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO notes VALUES ('other')")
            ticks = 0

            async def loop_keeps_running() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            ticker = asyncio.create_task(loop_keeps_running())

            async def write() -> None:
                async with engine.begin() as connection:
                    await connection.execute(text("INSERT INTO notes VALUES ('mine')"))

            async def write_in_a_savepoint() -> None:
                # As a worker's first message does (two first messages at once).
                async with engine.begin() as connection, connection.begin_nested():
                    await connection.execute(text("INSERT INTO notes VALUES ('nested')"))

            writing = asyncio.gather(write(), write_in_a_savepoint())
            await asyncio.sleep(0.3)
            assert not writing.done()
            # The event loop went on while the write waited.
            assert ticks >= 10
            other.execute("COMMIT")
            await asyncio.wait_for(writing, 5)
            ticker.cancel()
            other.close()
            async with engine.connect() as connection:
                bodies = (await connection.execute(text("SELECT body FROM notes"))).scalars()
                assert sorted(bodies) == ["mine", "nested", "other"]
                raw = await connection.get_raw_connection()
                # The wait was on the thread only: the connection waits no
                # longer for the lock than the setting says.
                timeout = raw.driver_connection._conn.execute("PRAGMA busy_timeout").fetchone()
                assert timeout == (BUSY_MILLISECONDS,)
        finally:
            await engine.dispose()

    asyncio.run(scenario())
