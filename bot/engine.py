"""The dialogue engine (Rasa), reached over its REST channel."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

# What a reverse proxy answers when the engine behind it failed.
DROPPED = frozenset({502, 503, 504})
# An event the engine applies under the conversation's lock and that changes
# nothing the dialogue reads (a reminder that never was, cancelled).
SETTLE_EVENT = {"event": "cancel_reminder", "name": "hotline_settle"}


class EngineUnavailable(Exception):
    """The engine did not answer: down, restarting, overloaded or broken.

    `dropped`: the turn reached an engine that died (a proxy's 502, 503 or
    504, or a connection cut), so another engine may take it; not after a
    timeout, when the engine may still be working on it.
    """

    def __init__(self, reason: str, *, dropped: bool = False) -> None:
        super().__init__(reason)
        self.dropped = dropped


@dataclass(frozen=True)
class EngineReply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


class EngineClient:
    """The app's calls to the engine, over one pool of kept-alive connections.

    aiohttp rather than httpx: a turn waits for this call, and aiohttp takes
    a quarter of the processor time per request (the LINE SDK uses it too).
    """

    def __init__(self, *, base_url: str, timeout: float, token: str | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # Made on first use: a session belongs to the event loop it runs on.
        self._session: aiohttp.ClientSession | None = None
        # The engine's HTTP API (trackers) demands the shared token; its REST
        # channel, which workers' messages go through, does not.
        self._token = token

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> tuple[int, Any]:
        """Status and JSON body (None when it is not JSON); EngineUnavailable when unreachable."""
        if self._session is None or self._session.closed:
            # No proxy from the environment: the engine is the hotline's own,
            # on the same host or network.
            self._session = aiohttp.ClientSession(timeout=self._timeout, trust_env=False)
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                params=params,
                json=body,
                timeout=aiohttp.ClientTimeout(total=timeout) if timeout else self._timeout,
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise EngineUnavailable(type(error).__name__) from error
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    async def send(
        self, *, sender_id: str, text: str, metadata: dict[str, Any]
    ) -> list[EngineReply]:
        body = {"sender": sender_id, "message": text, "metadata": metadata}
        try:
            status, items = await self._call("POST", "/webhooks/rest/webhook", body=body)
        except EngineUnavailable as error:
            cause = error.__cause__
            error.dropped = isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(
                cause, TimeoutError
            )
            raise
        if status in DROPPED:
            raise EngineUnavailable(f"status {status}", dropped=True)
        if status != 200:
            raise EngineUnavailable(f"status {status}")
        if not isinstance(items, list):
            raise EngineUnavailable("unexpected answer")
        return [_reply(item) for item in items if isinstance(item, dict)]

    async def append_events(self, *, sender_id: str, events: list[dict[str, Any]]) -> None:
        """Add events to a conversation's tracker (e.g. to end a form after a handoff)."""
        await self._tracker_call("POST", sender_id, events)

    async def settle(self, *, sender_id: str) -> None:
        """Return once the engine has finished every turn of the conversation
        it began (on any engine): it takes the conversation's turn lock, as a
        turn does, by adding an event that changes nothing."""
        await self._tracker_call("POST", sender_id, [SETTLE_EVENT])

    async def intents(self, *, sender_id: str) -> list[str]:
        """The intents the engine recognised in a conversation so far, oldest first."""
        params = {"token": self._token} if self._token else {}
        status, tracker = await self._call(
            "GET",
            f"/conversations/{sender_id}/tracker",
            params={**params, "include_events": "ALL"},
            timeout=5.0,
        )
        if status != 200:
            raise EngineUnavailable(f"status {status}")
        if not isinstance(tracker, dict):
            raise EngineUnavailable("unexpected answer")
        found = []
        for event in tracker.get("events") or []:
            if isinstance(event, dict) and event.get("event") == "user":
                intent = (event.get("parse_data") or {}).get("intent") or {}
                if isinstance(intent, dict) and intent.get("name"):
                    found.append(str(intent["name"]))
        return found

    async def _tracker_call(
        self, method: str, sender_id: str, events: list[dict[str, Any]]
    ) -> None:
        params = {"token": self._token} if self._token else None
        status, _ = await self._call(
            method, f"/conversations/{sender_id}/tracker/events", params=params, body=events
        )
        if status != 200:
            raise EngineUnavailable(f"status {status}")

    async def is_up(self) -> bool:
        try:
            status, _ = await self._call("GET", "/", timeout=3.0)
        except EngineUnavailable:
            return False
        return status == 200


def _reply(item: dict[str, Any]) -> EngineReply:
    buttons = [
        {"title": str(button.get("title", "")), "payload": str(button.get("payload", ""))}
        for button in item.get("buttons") or []
        if isinstance(button, dict)
    ]
    return EngineReply(text=str(item.get("text") or ""), buttons=buttons)
