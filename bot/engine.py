"""The dialogue engine (Rasa), reached over its REST channel."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

logger = logging.getLogger(__name__)


class EngineUnavailable(Exception):
    """The engine did not answer: down, restarting, overloaded or broken."""


@dataclass(frozen=True)
class EngineReply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


class EngineClient:
    def __init__(self, *, base_url: str, timeout: float, token: str | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        # The engine's HTTP API (trackers) demands the shared token; its REST
        # channel, which workers' messages go through, does not.
        self._token = token

    async def close(self) -> None:
        await self._client.aclose()

    async def send(
        self, *, sender_id: str, text: str, metadata: dict[str, Any]
    ) -> list[EngineReply]:
        body = {"sender": sender_id, "message": text, "metadata": metadata}
        try:
            response = await self._client.post("/webhooks/rest/webhook", json=body)
        except httpx.HTTPError as error:
            raise EngineUnavailable(type(error).__name__) from error
        if response.status_code != 200:
            raise EngineUnavailable(f"status {response.status_code}")
        try:
            items = response.json()
        except ValueError as error:
            raise EngineUnavailable("invalid JSON") from error
        if not isinstance(items, list):
            raise EngineUnavailable("unexpected answer")
        return [_reply(item) for item in items if isinstance(item, dict)]

    async def append_events(self, *, sender_id: str, events: list[dict[str, Any]]) -> None:
        """Add events to a conversation's tracker (e.g. to end a form after a handoff)."""
        await self._tracker_call("POST", sender_id, events)

    async def intents(self, *, sender_id: str) -> list[str]:
        """The intents the engine recognised in a conversation so far, oldest first."""
        params = {"token": self._token} if self._token else {}
        try:
            response = await self._client.get(
                f"/conversations/{sender_id}/tracker",
                params={**params, "include_events": "ALL"},
                timeout=5.0,
            )
        except httpx.HTTPError as error:
            raise EngineUnavailable(type(error).__name__) from error
        if response.status_code != 200:
            raise EngineUnavailable(f"status {response.status_code}")
        try:
            events = response.json().get("events") or []
        except (ValueError, AttributeError) as error:
            raise EngineUnavailable("unexpected answer") from error
        found = []
        for event in events:
            if isinstance(event, dict) and event.get("event") == "user":
                intent = (event.get("parse_data") or {}).get("intent") or {}
                if isinstance(intent, dict) and intent.get("name"):
                    found.append(str(intent["name"]))
        return found

    async def forget(self, *, sender_id: str) -> None:
        """Empty a conversation's tracker: the worker's words leave the engine too."""
        await self._tracker_call("PUT", sender_id, [])

    async def _tracker_call(
        self, method: str, sender_id: str, events: list[dict[str, Any]]
    ) -> None:
        params = {"token": self._token} if self._token else None
        try:
            response = await self._client.request(
                method, f"/conversations/{sender_id}/tracker/events", params=params, json=events
            )
        except httpx.HTTPError as error:
            raise EngineUnavailable(type(error).__name__) from error
        if response.status_code != 200:
            raise EngineUnavailable(f"status {response.status_code}")

    async def is_up(self) -> bool:
        try:
            response = await self._client.get("/", timeout=3.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200


def _reply(item: dict[str, Any]) -> EngineReply:
    buttons = [
        {"title": str(button.get("title", "")), "payload": str(button.get("payload", ""))}
        for button in item.get("buttons") or []
        if isinstance(button, dict)
    ]
    return EngineReply(text=str(item.get("text") or ""), buttons=buttons)
