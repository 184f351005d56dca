"""Keeping what the engine understood of each worker message.

The engine calls the app back during a turn (NLG for each response, the
action endpoint for each custom action), and each call carries its tracker.
`Understanding.record` keeps the tracker's latest message's understanding
once per message: later calls of the same turn, and a turn asked again, find
it kept. A few hundred recent keys are remembered in the process, so the
turn's second and later calls cost no write.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.understanding import queries
from bot.understanding.queries import Reading

logger = logging.getLogger(__name__)

REMEMBERED_KEYS = 1024


class Understanding:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._kept: OrderedDict[str, None] = OrderedDict()

    async def record(self, tracker: Mapping[str, Any] | None) -> Reading | None:
        """Keep the understanding the tracker carries of its latest worker
        message (first write wins); the reading, or None when the tracker's
        latest message is none the app sent."""
        reading = queries.reading_of(tracker)
        if reading is None or reading.message_key in self._kept:
            return reading
        assert tracker is not None
        public_id = tracker.get("sender_id")
        if not isinstance(public_id, str):
            return None
        async with self._sessions.begin() as session:
            await queries.stage(session=session, public_id=public_id, reading=reading)
        self._kept[reading.message_key] = None
        while len(self._kept) > REMEMBERED_KEYS:
            self._kept.popitem(last=False)
        return reading
