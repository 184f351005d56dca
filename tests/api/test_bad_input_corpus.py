"""The bad-input corpus (tests/data/bad_input/corpus.yml): every entry gets
its defined answer, never a 500, and every valid message is stored."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from core.database import sync_url
from core.settings import Settings
from tests.fakes.line_api import sign, text_event, webhook_body
from tests.fakes.telegram_api import WEBHOOK_SECRET, text_update
from tests.support import decrypted, stored_from_inbox

CORPUS = Path(__file__).parents[1] / "data" / "bad_input" / "corpus.yml"
ENTRIES: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
PATHS = {"line": "/webhooks/line", "telegram": "/webhooks/telegram", "webchat": "/webchat/messages"}


def _text(spec: Any) -> str:
    if isinstance(spec, dict):
        return str(spec["repeat"]) * int(spec["times"])
    return str(spec)


def _body(entry: dict[str, Any], number: int) -> bytes:
    if "body_bytes" in entry:
        return b"x" * int(entry["body_bytes"])
    if "body_hex" in entry:
        return bytes.fromhex(entry["body_hex"])
    if "body" in entry:
        return str(entry["body"]).encode()
    channel = entry["channel"]
    if channel == "line":
        event = entry.get("event") or text_event(f"U-corpus-{number}", _text(entry["text"]))
        return webhook_body(event)
    if channel == "telegram":
        update = entry.get("update") or text_update(
            770_000 + number, 770_000 + number, _text(entry["text"])
        )
        return json.dumps(update).encode()
    return json.dumps({"sender": f"corpus-{number}", "text": _text(entry["text"])}).encode()


def _headers(entry: dict[str, Any], body: bytes) -> dict[str, str]:
    headers = {"content-type": entry.get("content_type", "application/json")}
    if entry["channel"] == "line":
        signature = entry.get("signature", "valid")
        if signature == "valid":
            headers["x-line-signature"] = sign(body)
        elif signature == "forged":
            headers["x-line-signature"] = sign(body, secret="not-the-channel-secret")
    if entry["channel"] == "telegram":
        secret = entry.get("secret", "valid")
        if secret != "missing":
            headers["x-telegram-bot-api-secret-token"] = (
                WEBHOOK_SECRET if secret == "valid" else "wrong-secret"
            )
    return headers


def _inbound(settings: Settings) -> list[dict[str, Any]]:
    engine = create_engine(sync_url(settings.hotline_database_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT text, original_text FROM messages WHERE direction = 'inbound'")
            )
            return [
                {"text": decrypted(row.text), "original": decrypted(row.original_text)}
                for row in rows
            ]
    finally:
        engine.dispose()


@pytest.mark.parametrize("number", range(len(ENTRIES)), ids=[entry["name"] for entry in ENTRIES])
def test_corpus_entry(client: TestClient, settings: Settings, number: int) -> None:
    entry = ENTRIES[number]
    body = _body(entry, number)
    for _ in range(int(entry.get("times", 1))):
        response = client.post(PATHS[entry["channel"]], content=body, headers=_headers(entry, body))
        assert response.status_code == entry["expect"], response.text[:300]
    stored_from_inbox(client)
    stored = _inbound(settings)
    assert len(stored) == entry["stored"]
    if not stored:
        return
    [message] = stored
    if "stored_text" in entry:
        assert message["text"] == entry["stored_text"]
    if "stored_original" in entry:
        assert message["original"] == entry["stored_original"]
    if "stored_length" in entry:
        assert len(message["text"]) == entry["stored_length"]
        # Kept whole: the worker's exact words, not a truncated copy.
        expected = _text(entry["text"])
        assert hashlib.sha256(message["original"].encode()).hexdigest() == (
            hashlib.sha256(expected.encode()).hexdigest()
        )


def test_the_corpus_covers_every_kind_the_hotline_promises() -> None:
    names = " ".join(entry["name"] for entry in ENTRIES)
    for kind in (
        "malformed json",
        "truncated json",
        "content type",
        "size limit",
        "invalid utf-8",
        "50,000-character",
        "zero-width",
        "emoji only",
        "zawgyi",
        "script",
        "sql-looking",
        "unknown event type",
        "unknown update type",
        "replayed",
        "forged signature",
        "missing signature",
    ):
        assert kind in names, kind
