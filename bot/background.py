"""Stopping the hotline's background tasks when the app closes.

Each task is cancelled and awaited, but never for longer than a bound: a task
that does not stop (a library that swallows its cancel, as asyncio.wait_for
did on Python 3.11) must not keep the app from closing, which a service
manager would otherwise end with a kill. What was left running is logged.
Nothing is lost by leaving it: LINE and Telegram messages are in the inbox
or the database before anything answers them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

# Long enough for a turn's database write to finish, short of the 30 s or
# so a service manager waits before killing.
STOP_SECONDS = 10.0


async def stop_tasks(
    tasks: Iterable[asyncio.Task[Any] | None], *, within: float = STOP_SECONDS
) -> None:
    """Cancel the tasks and wait for them, at most `within` seconds."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    if not running:
        return
    done, pending = await asyncio.wait(running, timeout=within)
    for task in done:
        # Read each outcome, so that one that ended in an error is reported
        # here rather than by the collector at some later moment. The type
        # only: an error's text may carry a URL with a platform token.
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.warning(
                "background task %s had failed: %s", task.get_name(), type(error).__name__
            )
    if pending:
        names = sorted(task.get_name() for task in pending)
        logger.error(
            "%d background task(s) did not stop within %.0f s: %s", len(pending), within, names
        )
