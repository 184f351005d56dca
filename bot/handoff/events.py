"""Live news for open staff consoles: a conversation was queued, claimed, answered.

In-process fan-out: each open console holds a subscription and receives
every event published after it subscribed. Events carry ids and labels,
never a worker's words; the console fetches what its staff member may see.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

logger = logging.getLogger(__name__)

# A console that stops reading must not hold the hotline's memory hostage.
SUBSCRIBER_BACKLOG = 200


class HandoffEvents:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    def publish(self, kind: str, **fields: Any) -> None:
        event = {"kind": kind, **fields}
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
