"""Two app processes on one PostgreSQL database, a worker's LINE webhooks
reaching them in turn: the engine still sees the worker's messages one at a
time and in order, and every message is answered once, in order.

The two apps run side by side in this test process, sharing nothing but the
database, as two processes behind a reverse proxy would.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from tests.fakes.line_api import FakeLine
from tests.support import eventually, stored_messages
from tests.support.slow_engine import SlowEngine, assert_engine_saw, post_line_text

pytestmark = pytest.mark.skipif(
    not os.environ.get("HOTLINE_TEST_POSTGRES_URL"),
    reason="several app processes share PostgreSQL; the embedded default runs one",
)


def test_a_worker_s_webhooks_on_two_processes_are_answered_in_order(
    settings: Settings, line_api: FakeLine
) -> None:
    engine = SlowEngine(pause=0.3)
    engine.server.start()
    workers = [f"U-two-apps-{n}" for n in range(3)]
    said = ["one", "two", "three", "four"]
    try:
        shared = settings.model_copy(update={"rasa_url": engine.server.url})
        with ExitStack() as stack:
            apps = [stack.enter_context(TestClient(create_app(shared))) for _ in range(2)]
            for n, words in enumerate(said):
                for worker in workers:
                    # Alternating, as a proxy balancing the webhooks would.
                    post_line_text(apps[n % 2], worker, words)
            eventually(
                lambda: all(
                    [m["text"] for m in _sent(shared, w)] == [f"echo {x}" for x in said]
                    for w in workers
                ),
                timeout=60,
            )
    finally:
        engine.server.stop()
    # One turn at a time per worker, in the order sent, once each.
    assert engine.most_for_one_sender == 1
    assert_engine_saw(engine, shared, workers, said)
    for worker in workers:
        inbound = [
            m
            for m in stored_messages(shared.hotline_database_url, worker)
            if m["direction"] == "inbound"
        ]
        assert [m["status"] for m in inbound] == ["answered"] * len(said)


def _sent(settings: Settings, worker: str) -> list[dict[str, object]]:
    return [
        m
        for m in stored_messages(settings.hotline_database_url, worker)
        if m["direction"] == "outbound" and m["status"] == "sent"
    ]
