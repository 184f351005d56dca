"""How many LINE and Telegram messages the engine has at once.

A slow stand-in for the engine's REST channel counts the turns in flight;
the real engine is not needed to see that the app holds the rest back, stored,
and still answers every worker once, in order.
"""

import asyncio
import time
from functools import partial

import httpx
from fastapi.testclient import TestClient

from api.app import create_app
from bot.channels.base import InboundMessage
from bot.conversations.models import EscalationReason, MessageKind
from bot.staff.models import Role
from bot.texts import Texts
from core.settings import Settings
from tests.fakes.line_api import FakeLine, text_event, webhook_body
from tests.support import ChatWorker, eventually, stored_conversation, stored_messages
from tests.support.console import add_staff, as_staff, csrf_of, state_of
from tests.support.slow_engine import (
    SlowEngine,
    assert_engine_saw,
    deliver_line,
    post_line_text,
)


def test_the_engine_gets_at_most_the_set_number_of_turns_and_every_worker_is_answered(
    settings: Settings, line_api: FakeLine
) -> None:
    engine = SlowEngine(pause=0.3)
    engine.server.start()
    try:
        limited = settings.model_copy(
            update={"rasa_url": engine.server.url, "hotline_engine_turns_at_once": 2}
        )
        workers = [f"U-busy-{n}" for n in range(6)]
        with TestClient(create_app(limited)) as client:
            for worker in workers:
                for said in ("first", "second"):
                    # Acknowledged at once, although the engine is busy.
                    post_line_text(client, worker, said)
            eventually(lambda: all(_answered(limited, w) == 2 for w in workers), timeout=30)
    finally:
        engine.server.stop()
    assert engine.most_in_flight == 2
    # Each worker's messages reached the engine in the order they were sent.
    assert_engine_saw(engine, limited, workers, ["first", "second"])
    assert sorted(_delivered(line_api)) == sorted(["echo first", "echo second"] * len(workers))


def test_web_chat_turns_share_the_engine_limit_with_line(
    settings: Settings, line_api: FakeLine
) -> None:
    """The web chat answers while its request waits, yet its turns count
    against the same limit as LINE's: a crowd on the web chat cannot take
    more of the engine than the limit, and every worker is answered."""
    engine = SlowEngine(pause=0.3)
    engine.server.start()
    try:
        limited = settings.model_copy(
            update={"rasa_url": engine.server.url, "hotline_engine_turns_at_once": 2}
        )
        with TestClient(create_app(limited)) as client:
            # Known workers, whose next messages may go to the engine at once.
            # (Each page also sends an id of its own, as pages before the
            # identity cookie did: ignored now.)
            browsers = [ChatWorker(client) for _ in range(6)]
            for n, browser in enumerate(browsers):
                assert browser.post("hello", sender_id=f"web-turns-{n}").status_code == 200
            engine.most_in_flight = 0

            async def everyone_at_once() -> list[httpx.Response]:
                transport = httpx.ASGITransport(app=client.app)

                async def one(n: int, browser: ChatWorker) -> httpx.Response:
                    async with httpx.AsyncClient(
                        transport=transport, base_url="http://testserver", cookies=browser.cookies
                    ) as http:
                        message = {"text": "again", "sender_id": f"web-turns-{n}"}
                        return await http.post("/webchat/messages", json=message)

                return list(await asyncio.gather(*(one(*b) for b in enumerate(browsers))))

            for worker in ("U-meanwhile-1", "U-meanwhile-2"):
                post_line_text(client, worker, "first")
            answers = client.portal.call(everyone_at_once)
            eventually(
                lambda: all(_answered(limited, w) == 1 for w in ("U-meanwhile-1", "U-meanwhile-2"))
            )
    finally:
        engine.server.stop()
    assert engine.most_in_flight == 2
    assert [a.json()["replies"] for a in answers] == [
        [{"text": "echo again", "buttons": []}]
    ] * len(browsers)


def _delivered(line_api: FakeLine) -> list[str]:
    """Texts that reached LINE, by reply or push."""
    return [
        message["text"]
        for request in line_api.requests
        if request.path.endswith(("/message/reply", "/message/push"))
        for message in request.body["messages"]
    ]


def _answered_once(settings: Settings, worker: str) -> bool:
    return _answered(settings, worker) == 1


def _answered(settings: Settings, worker: str) -> int:
    """Replies the stand-in LINE accepted for the worker."""
    return sum(
        1
        for message in stored_messages(settings.hotline_database_url, worker)
        if message["direction"] == "outbound" and message["status"] == "sent"
    )


def test_the_working_sign_is_shown_only_for_an_answer_that_takes_a_while(
    settings: Settings, line_api: FakeLine
) -> None:
    for pause, user, shown in ((1.5, "U-slow-answer", True), (0.0, "U-quick-answer", False)):
        engine = SlowEngine(pause=pause)
        engine.server.start()
        try:
            with TestClient(
                create_app(settings.model_copy(update={"rasa_url": engine.server.url}))
            ) as client:
                post_line_text(client, user, "hello")
                eventually(partial(_answered_once, settings, user))
        finally:
            engine.server.stop()
        to_worker = [
            request.path.rsplit("/", 2)[-2:]
            for request in line_api.requests
            if user in (request.body.get("chatId"), request.body.get("to"))
            or (
                request.path.endswith("/message/reply")
                and request.body["messages"][0]["text"] == "echo hello"
            )
        ]
        if shown:
            # While the engine worked, before the answer.
            assert to_worker == [["loading", "start"], ["message", "reply"]]
        else:
            assert to_worker == [["message", "reply"]]
        line_api.reset()


def test_an_engine_that_does_not_answer_in_time_gets_the_worker_the_numbers(
    settings: Settings, line_api: FakeLine
) -> None:
    engine = SlowEngine(pause=5.0)
    engine.server.start()
    try:
        hurried = settings.model_copy(
            update={"rasa_url": engine.server.url, "hotline_engine_timeout_seconds": 0.5}
        )
        texts = Texts(settings.hotline_locales_dir)
        with TestClient(create_app(hurried)) as client:
            post_line_text(client, "U-stuck-engine", "hello")
            eventually(lambda: line_api.texts("/v2/bot/message/reply") != [], timeout=4)
    finally:
        engine.server.stop()
    assert line_api.texts("/v2/bot/message/reply") == [texts.get("en", "engine_unavailable")]
    inbound = stored_messages(hurried.hotline_database_url, "U-stuck-engine")[0]
    # Kept to be asked again once the engine answers.
    assert inbound["status"] == "engine_unavailable"


def test_with_the_sweep_running_each_message_reaches_the_engine_once(
    settings: Settings, line_api: FakeLine
) -> None:
    """A worker's message goes to the engine while it is stored when nothing
    of theirs waits; the sweep, which takes up whatever looks unanswered,
    must not ask the engine for any message a second time."""
    engine = SlowEngine(pause=0.3)
    engine.server.start()
    workers = [f"U-swept-{n}" for n in range(4)]
    try:
        sweeping = settings.model_copy(
            update={"rasa_url": engine.server.url, "hotline_delivery_sweep_seconds": 0.2}
        )
        with TestClient(create_app(sweeping)) as client:
            for worker in workers:
                post_line_text(client, worker, "first")
            eventually(lambda: all(_answered(sweeping, w) == 1 for w in workers), timeout=30)
            for worker in workers:
                post_line_text(client, worker, "second")
                post_line_text(client, worker, "third")
            eventually(lambda: all(_answered(sweeping, w) == 3 for w in workers), timeout=30)
            time.sleep(1.0)  # five more sweeps
    finally:
        engine.server.stop()
    # One worker's messages reach the engine one at a time.
    assert engine.most_for_one_sender == 1
    assert_engine_saw(engine, sweeping, workers, ["first", "second", "third"])
    for worker in workers:
        assert _answered(sweeping, worker) == 3
    assert sorted(_delivered(line_api)) == sorted(
        ["echo first", "echo second", "echo third"] * len(workers)
    )


def test_a_turn_answered_twice_stores_its_replies_once(settings: Settings) -> None:
    """Two takers of one message (its own turn and the sweep) cannot both
    answer it: the second finds it answered and stores nothing."""
    engine = SlowEngine(pause=0.0)
    engine.server.start()
    try:
        answering = settings.model_copy(update={"rasa_url": engine.server.url})
        inbound = InboundMessage(
            channel="line",
            channel_user_id="U-twice",
            kind=MessageKind.TEXT,
            text="hello",
            event_id="01HOTLINETWICE00000000001",
        )
        with TestClient(create_app(answering)) as client:
            hotline = client.app.state.hotline.dialogue  # type: ignore[attr-defined]
            portal = client.portal
            assert portal is not None
            turn = portal.call(hotline.accept, inbound)
            first = portal.call(partial(hotline.answer, turn, delivered=False))
            second = portal.call(partial(hotline.answer, turn, delivered=False))
    finally:
        engine.server.stop()
    assert [reply.text for reply in first] == ["echo hello"]
    assert second == []
    stored = stored_messages(answering.hotline_database_url, "U-twice")
    assert [(m["direction"], m["text"]) for m in stored] == [
        ("inbound", "hello"),
        ("outbound", "echo hello"),
    ]


def test_a_redelivered_event_of_a_returning_worker_reaches_the_engine_once(
    settings: Settings, line_api: FakeLine
) -> None:
    """A returning worker's message goes to the engine as soon as it is read;
    the same event delivered again must be known for what it is by then,
    not asked once more and dropped only when it is stored."""
    engine = SlowEngine(pause=0.0)
    engine.server.start()
    worker = "U-redelivered"
    try:
        answering = settings.model_copy(update={"rasa_url": engine.server.url})
        with TestClient(create_app(answering)) as client:
            post_line_text(client, worker, "first")
            eventually(lambda: _answered(answering, worker) == 1)
            body = webhook_body(text_event(worker, "second"))
            for _ in range(3):
                deliver_line(client, body)
                eventually(lambda: _answered(answering, worker) == 2)
            time.sleep(0.5)  # a late second answer would show by now
    finally:
        engine.server.stop()
    assert_engine_saw(engine, answering, [worker], ["first", "second"])
    assert sorted(_delivered(line_api)) == ["echo first", "echo second"]


def test_a_staff_reply_does_not_wait_for_the_engine_s_turns(
    settings: Settings, line_api: FakeLine
) -> None:
    """Staff replies leave through the outbox at once: the engine, busy with
    other workers' turns one at a time, does not hold them back."""
    engine = SlowEngine(pause=2.0)
    engine.server.start()
    try:
        limited = settings.model_copy(
            update={"rasa_url": engine.server.url, "hotline_engine_turns_at_once": 1}
        )
        with TestClient(create_app(limited)) as client:
            state = state_of(client)
            post_line_text(client, "U-with-staff", "hello")
            eventually(lambda: _answered(limited, "U-with-staff") == 1, timeout=30)
            public_id = stored_conversation(limited.hotline_database_url, "U-with-staff")[
                "public_id"
            ]
            escalation = client.portal.call(
                partial(
                    state.handoff.escalate,
                    public_id=public_id,
                    reason=EscalationReason.ASKED_FOR_PERSON,
                )
            )
            add_staff(client, "thida", Role.AGENT)
            as_staff(client, "thida")
            base = f"/api/handoff/conversations/{escalation.conversation_id}"
            headers = {"X-CSRF-Token": csrf_of(client)}
            assert client.post(f"{base}/claim", headers=headers).status_code == 204
            # Four workers' turns, two seconds each, one at a time.
            busy = [f"U-queue-{n}" for n in range(4)]
            for worker in busy:
                post_line_text(client, worker, "question")
            eventually(lambda: engine.in_flight == 1, timeout=30)
            sent = client.post(f"{base}/replies", json={"text": "I am here"}, headers=headers)
            assert sent.status_code == 201
            eventually(lambda: "I am here" in _delivered(line_api), timeout=30)
            # Delivered while the engine still had turns to take.
            answered = sum(1 for text in _delivered(line_api) if text == "echo question")
            assert answered < len(busy)
            eventually(lambda: all(_answered(limited, w) == 1 for w in busy), timeout=60)
    finally:
        engine.server.stop()
