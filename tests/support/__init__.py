"""Helpers for tests: ports, reading the database as stored."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api import webchat
from core.database import sync_url
from core.vault import Vault


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_block(size: int) -> int:
    """The first of `size` consecutive ports nothing listens on."""
    for _ in range(50):
        base = free_port()
        if base + size > 65000:
            continue
        try:
            for port in range(base, base + size):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free block of ports")


def cluster_state(path: Path) -> dict[str, str]:
    """What `scripts/cluster --background` wrote: ports, process ids, settings."""
    state = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition("=")
        state[name] = value.strip('"')
    return state


def closed_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    return free_port()


# One key for the whole test run, shared with the processes the tests start.
TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()
TEST_VAULT = Vault([TEST_ENCRYPTION_KEY])


def decrypted(token: str | None) -> str | None:
    return None if token is None else TEST_VAULT.decrypt_text(token)


def scalar(database_url: str, query: str, **params: Any) -> Any:
    """One value read straight from the database, as stored."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            return connection.execute(text(query), params).scalar_one()
    finally:
        engine.dispose()


def rows(database_url: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows read straight from the database, as stored."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params).all()]
    finally:
        engine.dispose()


def execute(database_url: str, statement: str, **params: Any) -> None:
    """A change written straight to the database, as another process would."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as connection:
            connection.execute(text(statement), params)
    finally:
        engine.dispose()


def stored_conversation(database_url: str, channel_user_id: str) -> dict[str, Any]:
    """The worker's latest conversation row as stored."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT c.* FROM conversations c JOIN workers w ON w.id = c.worker_id "
                    "WHERE w.channel_user_id = :user ORDER BY c.id DESC LIMIT 1"
                ),
                {"user": channel_user_id},
            ).one()
            return dict(row._mapping)
    finally:
        engine.dispose()


def stored_messages(database_url: str, channel_user_id: str) -> list[dict[str, Any]]:
    """Messages as stored, decrypted (the raw columns are ciphertext)."""
    engine = create_engine(sync_url(database_url))
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
            result = []
            for row in rows:
                message = dict(row._mapping)
                message["text"] = decrypted(message["text"])
                message["original_text"] = decrypted(message["original_text"])
                message["payload"] = decrypted(message["payload"])
                result.append(message)
            return result
    finally:
        engine.dispose()


class ChatWorker:
    """One worker on the web chat, as their browser: their own identity cookie.

    Requests go through the app's test client (its event loop, its app);
    the worker's cookies are lent to the client for each request and taken
    back with whatever the response set, so workers never share a cookie and
    the client keeps its own (a staff sign-in) meanwhile.
    """

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.cookies = httpx.Cookies()

    def post(self, text: str, **body: Any) -> httpx.Response:
        """`body`: more fields, as older pages sent (`sender_id`)."""
        return self._call("POST", json={"text": text, **body})

    def say(self, text: str) -> list[dict[str, Any]]:
        """Send a message; the hotline's replies."""
        response = self.post(text)
        assert response.status_code == 200, response.text
        replies: list[dict[str, Any]] = response.json()["replies"]
        return replies

    def poll(self, **params: str) -> httpx.Response:
        """What the page asks every few seconds (`params`: a query string)."""
        return self._call("GET", params=params)

    def _call(self, method: str, **arguments: Any) -> httpx.Response:
        own = self.client.cookies
        self.client.cookies = self.cookies
        try:
            response: httpx.Response = self.client.request(method, "/webchat/messages", **arguments)
            self.cookies = httpx.Cookies(self.client.cookies)
        finally:
            self.client.cookies = own
        return response

    @property
    def token(self) -> str | None:
        """The identity cookie's value, once the hotline has set it."""
        return self.cookies.get(webchat.COOKIE)

    @property
    def channel_user_id(self) -> str:
        """The worker as the database knows them: the cookie's hash."""
        assert self.token, "the worker has not written yet"
        return webchat.channel_user_id_of(self.token)


def stored_from_inbox(client: Any) -> None:
    """Store what LINE and Telegram webhooks left in the inbox, now.

    A webhook's 200 means the message is on disk; the app stores it in the
    database a moment later. Tests that read the database right after a
    webhook store it first instead of waiting and guessing.
    """
    state = client.app.state.hotline
    assert client.portal.call(state.intake.store_waiting), "database unavailable"


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for background work (answers, deliveries) to reach a state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


# The suite runs on SQLite, and again on PostgreSQL when this names a server
# (`.ci/run` starts one): a fresh database per test on either.
POSTGRES_ENV = "HOTLINE_TEST_POSTGRES_URL"


def fresh_database_url(workdir: Path, server: str | None = None) -> str:
    """A new empty database: on the PostgreSQL server given (or named by
    HOTLINE_TEST_POSTGRES_URL), else a SQLite file in `workdir`."""
    server = server or os.environ.get(POSTGRES_ENV)
    if not server:
        return f"sqlite:///{workdir / 'hotline.db'}"
    import psycopg

    name = f"hotline_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_psycopg_dsn(server), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return str(make_url(server).set(database=name).render_as_string(hide_password=False))


def drop_database(url: str, server: str | None = None) -> None:
    parsed = make_url(url)
    server = server or os.environ.get(POSTGRES_ENV)
    if parsed.get_backend_name() != "postgresql" or not server:
        return
    import psycopg

    with psycopg.connect(_psycopg_dsn(server), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def _psycopg_dsn(url: str) -> str:
    return str(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
