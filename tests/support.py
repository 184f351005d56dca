"""Helpers for tests: ports, reading the database as stored."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def closed_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    return free_port()


def stored_messages(database_url: str, channel_user_id: str) -> list[dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT m.direction, m.text, m.original_text, m.payload, m.language, m.status "
                    "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                    "JOIN workers w ON w.id = c.worker_id "
                    "WHERE w.channel_user_id = :user ORDER BY m.id"
                ),
                {"user": channel_user_id},
            )
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for background work (answers, deliveries) to reach a state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")
