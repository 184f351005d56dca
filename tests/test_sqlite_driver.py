"""The SQLite driver: reads on the event loop, each write in one thread round trip."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from api.database import create_engine
from api.sqlite_driver import OneTripConnection
from tests.support import TEST_VAULT


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
