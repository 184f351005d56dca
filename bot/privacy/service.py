"""Keeping a worker's data no longer than needed, and deleting it when they ask.

`DataKeeping` runs retention on a schedule and carries out the decisions on
deletion requests. Each public method is one unit of work: it opens the
transaction, calls `queries.py`, and records the audit entry in the same
transaction, so the rows go and the entry stays together (the engine's
memory of the conversations among them); afterwards the files no attachment
names any more are removed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.attachments import AttachmentStore
from bot.background import stop_tasks
from bot.leases import Leases
from bot.privacy import queries
from bot.privacy.models import DeletionRequest
from bot.privacy.queries import Held, Removed
from bot.staff import audit
from core.clock import utcnow
from core.settings import Settings

logger = logging.getLogger(__name__)


class DataKeeping:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        attachments: AttachmentStore,
        leases: Leases,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._attachments = attachments
        self._leases = leases
        self._settings = settings
        self._schedule: asyncio.Task[None] | None = None

    async def pending_deletions(self) -> list[tuple[DeletionRequest, Held]]:
        """Requests waiting for staff, oldest first, with what each worker has here."""
        async with self._sessions() as session:
            return [
                (request, await queries.held_for(session=session, request=request))
                for request in await queries.pending_deletions(session=session)
            ]

    async def run_retention(self, *, now: datetime | None = None) -> Removed:
        async with self._sessions.begin() as session:
            removed = await queries.apply_retention(
                session=session,
                now=now or utcnow(),
                conversation_days=self._settings.hotline_retention_conversation_days,
                closed_case_days=self._settings.hotline_retention_closed_case_days,
                housekeeping_days=self._settings.hotline_retention_housekeeping_days,
            )
            await audit.record(
                session=session,
                staff_id=None,
                action="retention_run",
                object_type="hotline",
                object_id=None,
                detail=removed.counts(),
            )
        await self._clean_up(removed)
        logger.info("retention removed %s", removed.counts())
        return removed

    async def decide_deletion(
        self, *, request_id: int, staff_id: int, confirm: bool
    ) -> tuple[DeletionRequest, Removed]:
        async with self._sessions.begin() as session:
            request, removed = await queries.decide_deletion(
                session=session, request_id=request_id, staff_id=staff_id, confirm=confirm
            )
            # Only that it happened, and how much: nothing about the worker.
            await audit.record(
                session=session,
                staff_id=staff_id,
                action="worker_data_deleted" if confirm else "deletion_declined",
                object_type="deletion_request",
                object_id=str(request.id),
                detail=removed.counts() if confirm else None,
            )
        await self._clean_up(removed)
        if confirm:
            logger.info("deletion request %s carried out: %s", request.id, removed.counts())
        return request, removed

    async def _clean_up(self, removed: Removed) -> None:
        async with self._sessions() as session:
            orphans = await queries.unreferenced(session=session, storage_keys=removed.storage_keys)
        for key in orphans:
            self._attachments.delete(key)

    def start(self) -> None:
        self._schedule = asyncio.create_task(self._daily(), name="retention-schedule")

    async def _daily(self) -> None:
        interval = self._settings.hotline_retention_interval_hours * 3600
        while True:
            # First run after a pause, so a restart loop does not hammer the database.
            await asyncio.sleep(min(interval, 600))
            try:
                # Once a day across app processes: the process leading it
                # runs it, another takes over if that one is gone a day.
                if await self._leases.lead(
                    "round:retention", lease_time=timedelta(seconds=interval + 3600)
                ):
                    await self.run_retention()
            except Exception:
                logger.exception("retention run failed")
            await asyncio.sleep(max(0.0, interval - 600))

    async def close(self) -> None:
        await stop_tasks([self._schedule])
