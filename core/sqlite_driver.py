"""SQLite for the async engine with one thread round trip per statement.

aiosqlite runs each SQLite call on a thread of its own connection and hands
the result back to the event loop. Through SQLAlchemy a statement takes four
such round trips (make a cursor, execute, fetch, close); each one wakes a
thread, waits for the interpreter lock and waits again for the event loop,
which under load is busy answering other workers. Here a statement runs
whole in one round trip (execute, fetch every row, close) and the cursor
SQLAlchemy sees only hands the rows over.

Reading goes further: a SELECT runs at once on the event loop's own thread,
with no round trip at all. In WAL mode a read never waits for a lock, and
the hotline's reads take microseconds; writes, which may wait for the
database's one write lock, stay on the connection's thread so that a wait
never stalls the event loop. The two never overlap on one connection:
SQLAlchemy runs one statement at a time per connection and awaits each.
Commit and rollback run on the thread too, and cost nothing when no write
began a transaction (Python's sqlite3 begins one only before a write), which
is every read-only session.

Running writes on the event loop as well, sending only a write that meets
the lock to the thread, was tried and dropped: a transaction opened by a
SAVEPOINT (a worker's first message) holds no lock yet, its first write
cannot be rolled back and retried without undoing the savepoint, and under
load a write waiting on the event loop stopped the whole app.

This leans on two internals of aiosqlite (`_execute` runs a function on the
connection's thread, `_conn` is the sqlite3 connection there); the version
is pinned in constraints-app.txt, the whole suite runs on this driver, and
`tests/core/test_sqlite_driver.py` fails by name if either changes.

Why it stays, measured on 2026-12-07 on one 2-core machine: through
`bench/load.py`, plain aiosqlite was within the spread of two runs of this
driver (turns through the hotline against straight to the engine, at 1 / 10
/ 50 conversations at once: driver 0.645 / 0.950 / 0.885 and 0.667 / 0.828 /
0.788, plain 0.640 / 0.882 / 0.808). Under write contention it was not:
through `bench/sign_ins.py` (bursts of 20 sign-ins while LINE webhooks are
stored and answered), plain aiosqlite held the write lock long enough, with
four round trips per statement through a busy event loop, that writes gave
up after the 5 s busy timeout ("database is locked": sign-ins answered 503,
a worker's message left for the sweep), while this driver had none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite

Row = tuple[Any, ...]
# How long a write waits for another connection's write lock (on the thread).
BUSY_MILLISECONDS = 5000


class Statement:
    """A cursor whose statement already ran: what SQLAlchemy reads of it."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Row] = []

    async def __aenter__(self) -> Statement:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Statement:
        def run(connection: sqlite3.Connection) -> tuple[Any, int, int | None, list[Row]]:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, parameters)
                rows = cursor.fetchall() if cursor.description else []
                return cursor.description, cursor.rowcount, cursor.lastrowid, rows
            finally:
                cursor.close()

        if _reads_only(sql):
            outcome = self._connection.run_here(run)
        else:
            outcome = await self._connection.run(run)
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        return self

    async def executemany(
        self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]
    ) -> Statement:
        def run(connection: sqlite3.Connection) -> tuple[int, int | None]:
            cursor = connection.cursor()
            try:
                cursor.executemany(sql, parameters)
                return cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        self.description, self._rows = None, []
        self.rowcount, self.lastrowid = await self._connection.run(run)
        return self

    async def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Row]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *_: Any) -> None:
        return None

    async def close(self) -> None:
        self._rows = []


def _reads_only(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


class OneTripConnection(aiosqlite.Connection):
    # Whether a write began a transaction, as sqlite3 saw it after the last
    # statement (read on the thread that ran it).
    _writing = False

    def cursor(self) -> Statement:  # type: ignore[override]
        return Statement(self)

    async def run(self, work: Any) -> Any:
        """`work(sqlite3_connection)` on the connection's own thread."""

        def on_thread() -> Any:
            try:
                return work(self._conn)
            finally:
                self._writing = self._conn.in_transaction

        return await self._execute(on_thread)  # type: ignore[no-untyped-call]

    def run_here(self, work: Any) -> Any:
        """`work(sqlite3_connection)` now, on the calling thread (reads only)."""
        return work(self._conn)

    async def commit(self) -> None:
        if self._writing:
            await self.run(lambda connection: connection.commit())

    async def rollback(self) -> None:
        if self._writing:
            await self.run(lambda connection: connection.rollback())


def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """What SQLAlchemy calls instead of `aiosqlite.connect` (same arguments)."""
    connection = OneTripConnection(partial(sqlite3.connect, database, **kwargs), 64)
    # As SQLAlchemy does for aiosqlite's own: the thread must not keep a
    # stopping process alive.
    connection._thread.daemon = True
    return connection
