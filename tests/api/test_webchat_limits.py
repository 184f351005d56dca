"""Anyone can open the web chat: a crowd, or one sender pretending to be one,
must not bury the staff queue in fake emergencies, nor take the engine from
LINE and Telegram. Every worker who writes danger still gets the emergency
numbers at once.

Through the real endpoints; the engine is down, LINE is its stand-in.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.rate_limit import LocalBuckets, RateLimiter, WebchatLimits, address_key
from bot.staff.models import Role
from bot.texts import Texts
from core.settings import Settings
from tests.conftest import OPEN_WEBCHAT
from tests.fakes.line_api import FakeLine, sign, text_event, webhook_body
from tests.redis_server import running_redis
from tests.support import ChatWorker, closed_port, rows, stored_from_inbox
from tests.support.console import add_staff, state_of

# The limits as shipped, which the other tests open wide.
SHIPPED = {name: Settings.model_fields[name].default for name in OPEN_WEBCHAT}
EMERGENCY_CAP = Settings.model_fields["hotline_webchat_emergency_cap"].default
ADDRESS_BURST = SHIPPED["hotline_webchat_address_burst"]


@pytest.fixture
def texts(settings: Settings) -> Texts:
    return Texts(settings.hotline_locales_dir)


@pytest.fixture
def shipped(settings: Settings) -> Iterator[TestClient]:
    """The app with the web chat's limits as shipped, staff in at every hour."""
    limited = settings.model_copy(update={**SHIPPED, "hotline_business_hours": "always"})
    with TestClient(create_app(limited)) as client:
        yield client


def page_message(text: str) -> dict[str, str]:
    """A message as any page sends it; with an id of the page's own, as
    pages before the identity cookie sent (ignored now)."""
    return {"text": text, "sender_id": f"web-{uuid.uuid4().hex[:12]}"}


def post_from(client: TestClient, address: str, text: str, method: str = "POST") -> httpx.Response:
    """A request from a browser at `address`, with no cookie yet."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            if method == "GET":
                return await http.get("/webchat/messages")
            return await http.post("/webchat/messages", json=page_message(text))

    return client.portal.call(send)


def burst(client: TestClient, text: str, count: int) -> tuple[list[httpx.Response], list[Any]]:
    """`count` anonymous messages from one address at the same moment, each
    from a browser without a cookie; and the events open consoles heard."""
    state = state_of(client)

    async def send_all() -> tuple[list[httpx.Response], list[Any]]:
        transport = httpx.ASGITransport(app=client.app, client=("203.0.113.7", 40000))

        async def one() -> httpx.Response:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                return await http.post("/webchat/messages", json=page_message(text))

        async with state.handoff.events.subscribe() as events:
            answers = list(await asyncio.gather(*(one() for _ in range(count))))
            heard = [events.get_nowait() for _ in range(events.qsize())]
        return answers, heard

    return client.portal.call(send_all)


def supervisor_token(client: TestClient) -> dict[str, str]:
    add_staff(client, "sunee", Role.SUPERVISOR)

    async def issue() -> str:
        return await state_of(client).accounts.create_api_token(username="sunee", name="tests")

    return {"Authorization": f"Bearer {client.portal.call(issue)}"}


def test_a_burst_of_anonymous_sos_is_limited_and_every_sender_gets_the_numbers(
    shipped: TestClient, settings: Settings, texts: Texts
) -> None:
    answers, _ = burst(shipped, "sos", 25)
    accepted = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 429]
    assert (len(accepted), len(refused)) == (ADDRESS_BURST, 25 - ADDRESS_BURST)
    for answer in refused:
        assert int(answer.headers["retry-after"]) >= 1
        assert answer.json()["detail"].startswith("Too many messages.")
        # Not kept: no worker made, no identity given.
        assert "set-cookie" not in answer.headers
    # The safety reply is never limited away: each sender has the numbers.
    for answer in answers:
        assert answer.json()["replies"][0]["text"] == texts.get("en", "emergency")
    # What was accepted is kept, each in a conversation of its own.
    inbound = rows(
        settings.hotline_database_url,
        "SELECT m.original_text FROM messages m WHERE m.direction = 'inbound'",
    )
    assert len(inbound) == ADDRESS_BURST
    queued = rows(settings.hotline_database_url, "SELECT owner FROM conversations")
    assert queued == [("queued",)] * ADDRESS_BURST


def test_a_line_emergency_after_a_web_chat_burst_is_first_in_the_queue(
    shipped: TestClient, line_api: FakeLine, texts: Texts
) -> None:
    _, heard = burst(shipped, "sos", 25)
    body = webhook_body(text_event("U-line-danger", "help me they are beating me"))
    assert (
        shipped.post("/webhooks/line", content=body, headers={"x-line-signature": sign(body)})
    ).status_code == 200
    stored_from_inbox(shipped)
    shipped.portal.call(state_of(shipped).answering.idle)

    queue = shipped.get("/api/handoff/queue", headers=supervisor_token(shipped)).json()
    assert [item["channel"] for item in queue] == ["line"] + ["webchat"] * ADDRESS_BURST
    assert queue[0]["emergency"] and not queue[0]["grouped"]
    webchat = queue[1:]
    # The first few web chat emergencies just below; the rest of the burst
    # grouped below them, still marked as emergencies.
    assert [item["grouped"] for item in webchat] == [False] * EMERGENCY_CAP + [True] * (
        ADDRESS_BURST - EMERGENCY_CAP
    )
    assert all(item["emergency"] for item in webchat)
    assert queue[0]["priority"] > webchat[0]["priority"] > webchat[-1]["priority"]
    # Supervisors were told of the burst once, not of each grouped worker.
    bursts = [event for event in heard if event["kind"] == "burst"]
    assert len(bursts) == 1 and bursts[0]["channel"] == "webchat"
    queued = [event for event in heard if event["kind"] == "queued"]
    assert sum(1 for event in queued if not event["grouped"]) == EMERGENCY_CAP
    # The LINE worker had the numbers as well.
    assert any(
        texts.get("en", "emergency") in text for text in line_api.texts("/v2/bot/message/reply")
    )


def test_a_worker_who_says_it_twice_is_no_burst(shipped: TestClient) -> None:
    worker = ChatWorker(shipped)
    for _ in range(EMERGENCY_CAP + 2):
        worker.say("sos")
    queue = shipped.get("/api/handoff/queue", headers=supervisor_token(shipped)).json()
    assert [item["grouped"] for item in queue] == [False]


def test_limits_count_per_address_and_overall(settings: Settings) -> None:
    slow = settings.model_copy(
        update={
            "hotline_webchat_address_burst": 2,
            "hotline_webchat_address_messages_per_minute": 0.6,  # one each 100 s
            "hotline_webchat_burst": 5,
            "hotline_webchat_messages_per_minute": 0.6,
            "hotline_webchat_address_polls_per_minute": 2,
        }
    )
    with TestClient(create_app(slow)) as client:
        first = [post_from(client, "198.51.100.1", "hello").status_code for _ in range(3)]
        assert first == [200, 200, 429]
        refused = post_from(client, "198.51.100.1", "hello")
        assert 95 <= int(refused.headers["retry-after"]) <= 100
        # Another address has its own allowance...
        assert post_from(client, "198.51.100.2", "hello").status_code == 200
        # ...but one subscriber's IPv6 network is one address.
        assert post_from(client, "2001:db8:1:2::10", "hello").status_code == 200
        assert post_from(client, "2001:db8:1:2::99", "hello").status_code == 200
        assert post_from(client, "2001:db8:1:2::abc", "hello").status_code == 429
        # Five went in: the web chat as a whole now waits, whoever asks.
        assert post_from(client, "192.0.2.50", "hello").status_code == 429
        # Polls have their own limit, per address.
        polls = [post_from(client, "192.0.2.60", "", "GET").status_code for _ in range(3)]
        assert polls == [200, 200, 429]
        # Exactly what was accepted is kept.
        assert len(rows(slow.hotline_database_url, "SELECT id FROM workers")) == 5


def test_a_message_refused_in_burmese_gets_the_numbers_in_burmese(
    settings: Settings, texts: Texts
) -> None:
    closed = settings.model_copy(
        update={
            "hotline_webchat_address_burst": 1,
            "hotline_webchat_address_messages_per_minute": 0,
        }
    )
    with TestClient(create_app(closed)) as client:
        assert post_from(client, "198.51.100.9", "hello").status_code == 200
        refused = post_from(client, "198.51.100.9", "ကယ်ကြပါ သူဌေးက ရိုက်နေတယ်")
        calm = post_from(client, "198.51.100.9", "hello again")
    assert refused.status_code == 429
    assert [r["text"] for r in refused.json()["replies"]] == [texts.get("my", "emergency")]
    assert calm.status_code == 429 and calm.json()["replies"] == []


def test_token_buckets_refill_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=6, burst=2, clock=lambda: now[0])
    assert limiter.wait("a") == 0
    limiter.spend("a")
    limiter.spend("a")
    assert limiter.wait("a") == pytest.approx(10.0)
    now[0] = 5.0
    assert limiter.wait("a") == pytest.approx(5.0)
    now[0] = 10.0
    assert limiter.wait("a") == 0
    now[0] = 1000.0  # never more than the burst
    limiter.spend("a")
    limiter.spend("a")
    assert limiter.wait("a") > 0
    limits = WebchatLimits(
        address_per_minute=60,
        address_burst=1,
        overall_per_minute=60,
        overall_burst=5,
        polls_per_minute=60,
        buckets=LocalBuckets(clock=lambda: now[0]),
    )
    assert asyncio.run(_refused_for(limits, ["10.0.0.1", "10.0.0.1"])) == [0, 1.0]
    # A refused message spent nothing of the overall allowance.
    addresses = [f"10.0.0.{n}" for n in range(2, 7)]
    assert asyncio.run(_refused_for(limits, addresses)) == [0, 0, 0, 0, 1.0]


async def _refused_for(limits: WebchatLimits, addresses: list[str]) -> list[float]:
    return [await limits.message(address) for address in addresses]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with running_redis(tmp_path) as url:
        yield url


def test_app_processes_sharing_redis_share_the_limits(settings: Settings, redis_url: str) -> None:
    """Two app processes behind one proxy: a sender gets the allowance once,
    not once per process."""
    shared = settings.model_copy(
        update={**SHIPPED, "hotline_business_hours": "always", "hotline_redis_url": redis_url}
    )
    with TestClient(create_app(shared)) as first, TestClient(create_app(shared)) as second:
        answers = [
            post_from((first, second)[n % 2], "198.51.100.20", f"hello {n}").status_code
            for n in range(ADDRESS_BURST + 1)
        ]
        assert answers == [200] * ADDRESS_BURST + [429]
        # Another sender is not held back by the first.
        assert post_from(second, "198.51.100.21", "hello").status_code == 200


def test_with_redis_away_the_web_chat_still_answers(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    away = settings.model_copy(
        update={**SHIPPED, "hotline_redis_url": f"redis://127.0.0.1:{closed_port()}/0"}
    )
    with TestClient(create_app(away)) as client:
        answers = [
            post_from(client, "198.51.100.30", f"hello {n}").status_code
            for n in range(ADDRESS_BURST + 1)
        ]
    # Refusing everyone would refuse workers in danger too.
    assert answers == [200] * (ADDRESS_BURST + 1)
    assert "Redis unavailable" in caplog.text
    assert "127.0.0.1" not in caplog.text


def test_addresses_are_counted_by_who_they_stand_for() -> None:
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert address_key("2001:db8:0:1::1") != address_key("2001:db8::1")
    assert address_key(None) == "unknown"
    assert address_key("testclient") == "testclient"
