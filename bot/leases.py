"""Claims on a piece of work that several app processes share through the
database: a conversation's sending, and periodic work (the sweeps) that must
run in one process at a time.

A lease is a row: who holds it and until when. Taking it is one conditional
write (free, or expired, or already ours), so two processes never both hold
it; a process that dies holding one loses it when it expires, and another
takes the work up. A process that finds the lease taken leaves a note on it
(`again`), and the holder, before letting go, looks again: work handed over
this way is never left waiting for the next sweep.

On the embedded default (SQLite, one app process) the in-process locks
suffice and `Leases` is off: every claim succeeds without a write, so the
single-machine path costs nothing more. With PostgreSQL it is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import String, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.database import Base

logger = logging.getLogger(__name__)

# Long enough for a platform to accept a message, short enough that a dead
# holder's work is taken up within a minute. Holders renew in the background
# while they work (`renewed`), however long one step takes.
LEASE_TIME = timedelta(seconds=30)


class Lease(Base):
    """Who does a piece of work now, until when, and whether they must look again."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime]
    again: Mapped[bool] = mapped_column(default=False)


class Release(enum.Enum):
    DONE = "done"  # let go; nobody asked meanwhile
    AGAIN = "again"  # kept: another process asked, the holder looks again
    LOST = "lost"  # it had expired and another process holds it now


def holder_name() -> str:
    """This process, for the rows it holds: readable in a query, unique per start."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


class Leases:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        holder: str,
        enabled: bool,
        lease_time: timedelta = LEASE_TIME,
    ) -> None:
        self._sessions = sessions
        self.holder = holder
        self.enabled = enabled
        self._lease_time = lease_time
        # When each lease held was last written (monotonic), so that `keep`
        # writes only when half of it is gone.
        self._refreshed: dict[str, float] = {}

    async def claim(self, name: str) -> bool:
        """Hold `name` (True), or leave the holder a note to look again (False)."""
        if not self.enabled:
            return True
        while True:
            async with self._sessions.begin() as session:
                if await self._take(session, name):
                    self._refreshed[name] = time.monotonic()
                    return True
                asked = await session.execute(
                    update(Lease)
                    .where(Lease.name == name, Lease.holder != self.holder, Lease.until >= utcnow())
                    .values(again=True)
                )
                if asked.rowcount:  # type: ignore[attr-defined]
                    return False
            # Let go (or expired) between the two writes: try to take it again.

    async def lead(self, name: str, *, lease_time: timedelta) -> bool:
        """Whether this process does the periodic work `name` now: it keeps
        leading while it runs it (each round renews), and another process
        takes over once a round is `lease_time` late (the leader died)."""
        if not self.enabled:
            return True
        async with self._sessions.begin() as session:
            return await self._take(session, name, lease_time=lease_time)

    async def _take(
        self, session: AsyncSession, name: str, *, lease_time: timedelta | None = None
    ) -> bool:
        now = utcnow()
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert(Lease) if dialect == "postgresql" else sqlite.insert(Lease)
        until = now + (lease_time or self._lease_time)
        values = {"holder": self.holder, "until": until, "again": False}
        statement = (
            insert.values(name=name, **values)
            .on_conflict_do_update(
                index_elements=[Lease.name],
                set_=values,
                where=(Lease.until < now) | (Lease.holder == self.holder),
            )
            # The row comes back only if written: a row count cannot tell,
            # PostgreSQL's driver counts a conflict left alone as one.
            .returning(Lease.name)
        )
        result = await session.execute(statement)
        return result.first() is not None

    async def renew(self, name: str) -> bool:
        """Keep holding `name` for another lease time; False if lost."""
        if not self.enabled:
            return True
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Lease)
                .where(Lease.name == name, Lease.holder == self.holder)
                .values(until=utcnow() + self._lease_time)
            )
        held = bool(result.rowcount)  # type: ignore[attr-defined]
        if held:
            self._refreshed[name] = time.monotonic()
        else:
            # Lost: `keep` must not answer from a renewal that did not happen.
            self._refreshed.pop(name, None)
        return held

    async def keep(self, name: str) -> bool:
        """`renew` once half the lease is gone; between, no write. False if lost."""
        if not self.enabled:
            return True
        half = self._lease_time.total_seconds() / 2
        if time.monotonic() - self._refreshed.get(name, 0.0) < half:
            return True
        return await self.renew(name)

    @asynccontextmanager
    async def renewed(self, name: str) -> AsyncIterator[None]:
        """Keep a lease held (renewed a third into each lease time) while the
        work inside runs, however long one step of it takes (an engine turn
        that waits out a dead engine's lock)."""
        if not self.enabled:
            yield
            return

        async def renew() -> None:
            while True:
                await asyncio.sleep(self._lease_time.total_seconds() / 3)
                try:
                    await self.renew(name)
                except Exception:
                    # Tried again next time; the lease still has two thirds.
                    logger.warning("renewing lease %s failed", name)

        keeping = asyncio.create_task(renew(), name=f"lease-{name}")
        try:
            yield
        finally:
            keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeping

    async def release(self, name: str) -> Release:
        """Let go, unless another process asked meanwhile: then keep it
        (the note cleared) and say so, for the holder to look again."""
        if not self.enabled:
            return Release.DONE
        async with self._sessions.begin() as session:
            gone = await session.execute(
                delete(Lease).where(
                    Lease.name == name, Lease.holder == self.holder, Lease.again.is_(False)
                )
            )
            if gone.rowcount:  # type: ignore[attr-defined]
                self._refreshed.pop(name, None)
                return Release.DONE
            kept = await session.execute(
                update(Lease)
                .where(Lease.name == name, Lease.holder == self.holder)
                .values(again=False, until=utcnow() + self._lease_time)
            )
        if kept.rowcount:  # type: ignore[attr-defined]
            self._refreshed[name] = time.monotonic()
            return Release.AGAIN
        self._refreshed.pop(name, None)
        return Release.LOST

    async def drop(self, name: str) -> None:
        """Let go whatever was asked (after an error: the sweep takes it up)."""
        if not self.enabled:
            return
        self._refreshed.pop(name, None)
        async with self._sessions.begin() as session:
            await session.execute(
                delete(Lease).where(Lease.name == name, Lease.holder == self.holder)
            )


class NotLeading(RuntimeError):
    """Another app process does this work (it holds the lease)."""


async def keep_leading(leases: Leases, name: str, *, lease_time: timedelta) -> None:
    """Lead `name` for as long as this runs, renewing a third into each lease.

    Raises NotLeading at once if another process leads it, or later if the
    lease was lost (a database out of reach for a whole lease time): the
    caller stops the work rather than do it beside another process.
    """
    while True:
        if not await leases.lead(name, lease_time=lease_time):
            raise NotLeading(name)
        await asyncio.sleep(lease_time.total_seconds() / 3)
