"""The app's way into the engine: Rasa's REST channel, with two changes.

- The message's metadata (`hotline_message_id`, channel, language) is kept
  on the worker's event in the tracker. Rasa's own REST channel drops it, and
  the app finds the engine's answer to a message whose turn was cut short by
  that id (bot/engine_memory.py).
- A turn once begun is finished. Sanic calls a request off when its caller
  hangs up (the app stopped waiting, a proxy gave up): the turn would stop
  half-way, after actions had acted but before the tracker was saved, and
  its lock would be released while the tracker was still being written, so
  the next turn could read the conversation without this message and then
  have its own words overwritten. Finished, the turn's answer waits in the
  engine's memory for the app to take it up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint
from sanic.request import Request

logger = logging.getLogger(__name__)


class HotlineChannel(RestInput):
    @classmethod
    def name(cls) -> str:
        # The same address as Rasa's REST channel: /webhooks/rest/webhook.
        return "rest"

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        body = request.json if isinstance(request.json, dict) else {}
        metadata = body.get("metadata")
        return metadata if isinstance(metadata, dict) else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def to_the_end(message: UserMessage) -> None:
            turn = asyncio.ensure_future(on_new_message(message))
            try:
                await asyncio.shield(turn)
            except asyncio.CancelledError:
                # Called off, the request stops waiting; the turn goes on.
                turn.add_done_callback(_report_failure)
                raise

        blueprint: Blueprint = super().blueprint(to_the_end)
        return blueprint


def _report_failure(turn: asyncio.Future[Any]) -> None:
    if not turn.cancelled() and (error := turn.exception()) is not None:
        logger.error("a turn failed after its caller left", exc_info=error)
