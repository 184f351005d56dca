"""Live news for open staff consoles: a conversation was queued, claimed, answered.

Each open console holds a subscription and receives every event published
after it subscribed. Events carry ids and labels, never a worker's words;
the console fetches what its staff member may see.

With several app processes (PostgreSQL), a staff member's console is
connected to one of them while the event may happen in another: events then
also travel through PostgreSQL's LISTEN/NOTIFY, and each process hands on
those of the others to its own consoles. An event lost while a process's
listening connection is re-made costs nothing lasting: a console reloads
the queue whenever it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

# A console that stops reading must not hold the hotline's memory hostage.
SUBSCRIBER_BACKLOG = 200
# The PostgreSQL channel the app processes tell each other on.
CHANNEL = "hotline_console_events"
RECONNECT_SECONDS = 2.0


class HandoffEvents:
    def __init__(self, *, shared_through: str | None = None, origin: str = "") -> None:
        """`shared_through`: a PostgreSQL URL (libpq form) to share events with
        the other app processes; `origin`: this process, to skip its own."""
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._shared_through = shared_through
        self._origin = origin
        self._outgoing: asyncio.Queue[str] = asyncio.Queue(maxsize=10_000)
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    async def open(self) -> None:
        """Start telling and hearing the other processes (with PostgreSQL)."""
        if self._shared_through is None:
            return
        self._tasks = [
            asyncio.create_task(self._listen(), name="console-events-listen"),
            asyncio.create_task(self._tell(), name="console-events-tell"),
        ]
        # Consoles connected from now on hear the other processes' events.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout=10)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def publish(self, kind: str, **fields: Any) -> None:
        event = {"kind": kind, **fields}
        self._hand_out(event)
        if self._shared_through is not None:
            try:
                self._outgoing.put_nowait(json.dumps({"origin": self._origin, "event": event}))
            except asyncio.QueueFull:
                logger.warning("console events for other processes dropped: database too slow")

    async def _listen(self) -> None:
        assert self._shared_through is not None
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._shared_through, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    async for note in connection.notifies():
                        self._heard(note.payload)
            except (psycopg.Error, OSError) as error:
                logger.warning(
                    "console events from other processes paused: %s", type(error).__name__
                )
            await asyncio.sleep(RECONNECT_SECONDS)

    def _heard(self, payload: str) -> None:
        try:
            told = json.loads(payload)
            if told["origin"] != self._origin:
                self._hand_out(dict(told["event"]))
        except (ValueError, KeyError, TypeError):
            logger.warning("a console event from another process could not be read")

    async def _tell(self) -> None:
        assert self._shared_through is not None
        while True:
            payload = await self._outgoing.get()
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._shared_through, autocommit=True
                ) as connection:
                    while True:
                        await connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                        payload = await self._outgoing.get()
            except (psycopg.Error, OSError) as error:
                logger.warning("console events to others paused: %s", type(error).__name__)
                await asyncio.sleep(RECONNECT_SECONDS)

    def _hand_out(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # The console is far behind; it reloads the queue when it
                # reconnects, so dropping it loses no message.
                logger.warning("dropping a console subscription that stopped reading")
                self._subscribers.discard(queue)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)
