"""The access log of the app as `hotline serve` runs it keeps no web chat identity.

The app is started as in production, its log read as written; the engine is
not needed (and is down).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.webchat import COOKIE
from core.settings import PROJECT_ROOT
from tests.support import TEST_ENCRYPTION_KEY, closed_port, free_port


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / "app.log"
    environment = {
        **os.environ,
        "HOTLINE_ENVIRONMENT": "development",
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_PORT": str(port),
        "RASA_URL": f"http://127.0.0.1:{closed_port()}",
        "HOTLINE_ENGINE_TOKEN": "access-log-token",
        "HOTLINE_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "HOTLINE_ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "HOTLINE_INBOX_DIR": str(tmp_path / "inbox"),
        "HOTLINE_ENGINE_TIMEOUT_SECONDS": "2",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "hotline"), "serve"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, log.read_text(errors="replace")
                try:
                    httpx.get(f"{url}/healthz", timeout=2)  # 503 without the engine
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "the app did not start"
                    time.sleep(0.5)
            yield url, log
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_a_poll_is_logged_without_identity_or_query(served: tuple[str, Path]) -> None:
    url, log = served
    with httpx.Client(base_url=url, timeout=30) as browser:
        # As pages before the cookie wrote, and asked for staff replies.
        answer = browser.post("/webchat/messages", json={"text": "hello", "sender_id": "web-4242"})
        assert answer.status_code == 200
        polled = [
            browser.get("/webchat/messages", params={"sender_id": "web-4242"}).status_code,
            browser.get("/webchat/messages").status_code,
        ]
        browser.get("/chat", params={"sender_id": "web-4242"})
        token = browser.cookies.get(COOKIE)
    time.sleep(0.5)  # the log is written as the response goes
    written = log.read_text(errors="replace")
    polls = [line for line in written.splitlines() if '"GET /webchat/messages' in line]
    assert len(polls) == 2, written
    for line in polls:
        assert '"GET /webchat/messages HTTP/1.1" 200' in line
    assert '"POST /webchat/messages HTTP/1.1" 200' in written
    assert '"GET /chat HTTP/1.1" 200' in written
    assert polled == [200, 200] and token is not None
    for secret in ("web-4242", "sender_id", token):
        assert secret not in written
