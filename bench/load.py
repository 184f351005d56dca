"""Load benchmark: workers writing to the hotline through signed LINE webhooks
at 1, 10 and 50 conversations at once, against the same conversations sent
straight to the engine's REST channel in the same run.

The real engine (trained model) and app run as in production, on SQLite in a
fresh folder, with the real LINE SDK pointed at the LINE stand-in. Each
virtual worker is its own LINE user with a short scripted conversation in
one language (a greeting, rights questions from the held-out set, thanks),
and sends each message only after the stand-in received the answer to the
previous one. Messages are those the engine understands, without danger
words, so no conversation is handed to staff (the bot then stays silent by
design). Per level it prints:

- webhook acknowledgement latency (the signed POST until its 200), p50 and p99;
- reply latency (the webhook sent until the stand-in receives the reply),
  p50, p95 and p99;
- turns per second (a turn: one worker message answered), through the
  hotline and straight to the engine, and their ratio;
- lost replies (turns never answered, replies stored but never delivered)
  and duplicated ones (a reply token used twice, or more messages reaching
  the stand-in than the hotline wrote);
- the peak resident memory of app and engine during the level.

    .venv/bin/python bench/load.py [--levels 1,10,50] [--turns 6] [--min-turns 150]
                                   [--write-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.running_hotline import (
    APP_PYTHON,
    ENGINE_TOKEN,
    RIGHTS_QUESTIONS,
    ROOT,
    RunningHotline,
    cpu_seconds,
    database_counts,
    heldout_messages,
    line_headers,
    peak_rss_kib,
    percentile,
    rss_kib,
    start_hotline,
)
from bot.conversations import service
from bot.normalise import normalise
from core.database import create_engine, create_sessionmaker
from core.vault import Vault
from tests.fakes import line_api
from tests.fakes.line_api import FakeLine, text_event, webhook_body
from tests.support import TEST_ENCRYPTION_KEY, free_port

DOCS = ROOT / "docs" / "load.md"
LANGUAGES = ("en", "th", "my", "km", "lo")
QUESTIONS = RIGHTS_QUESTIONS
# Only messages the engine reads as their own intent this surely: a message
# it is unsure of twice in a row offers staff, and the conversation would
# leave the bot.
SURE = 0.8
TURN_TIMEOUT = 60.0  # a turn not answered by then counts as lost
SETTLE_SECONDS = 3.0  # after the last answer, for late or repeated deliveries
TARGET_ACK_P99_MS = 50.0
TARGET_RATIO = 0.9
TARGET_AT = 50  # conversations at once the acknowledgement target is for
# Conversations of a level begin spread over this long (in both paths), as
# workers do not all press send in the same millisecond; the first messages
# of TARGET_AT workers at the same instant are measured on their own.
RAMP_SECONDS = 1.0
# Each level alternates the two paths this many times (see `run_level`).
ROUNDS = 3


@dataclass(frozen=True)
class Script:
    language: str
    texts: list[str]


# Conversations


async def understood_messages(engine_url: str) -> dict[str, dict[str, list[str]]]:
    """Per language and intent, the held-out messages the engine is sure of."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    items = [
        item
        for item in heldout_messages(include_zawgyi=False)
        if item["lang"] in LANGUAGES and item["intent"] in {"greet", "thanks", *QUESTIONS}
    ]
    async with httpx.AsyncClient(base_url=engine_url, timeout=30) as client:
        for item in items:
            response = await client.post(
                "/model/parse",
                json={"text": normalise(item["text"]).text},
                params={"token": ENGINE_TOKEN},
            )
            intent = response.json().get("intent") or {}
            if intent.get("name") == item["intent"] and intent.get("confidence", 0) >= SURE:
                found[item["lang"]][item["intent"]].append(item["text"])
    return found


def scripts(
    messages: dict[str, dict[str, list[str]]], count: int, turns: int, seed: int
) -> list[Script]:
    """`count` conversations of `turns` messages, the languages in turn:
    a greeting, rights questions (no topic twice while others remain), thanks."""
    result = []
    for number in range(count):
        rng = random.Random(seed * 100_003 + number)
        pool = messages[LANGUAGES[number % len(LANGUAGES)]]
        topics = [topic for topic in QUESTIONS if pool.get(topic)]
        rng.shuffle(topics)
        script = [rng.choice(pool["greet"])]
        for index in range(max(0, turns - 2)):
            script.append(rng.choice(pool[topics[index % len(topics)]]))
        if turns >= 2:
            script.append(rng.choice(pool["thanks"]))
        result.append(Script(LANGUAGES[number % len(LANGUAGES)], script[:turns]))
    return result


# The LINE stand-in, with arrival times


class TimedLine(FakeLine):
    """The LINE stand-in, telling the benchmark the moment a request arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.listener: Callable[[str, dict[str, str], Any, float], None] | None = None

    def record(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        arrived = time.monotonic()
        super().record(method, path, headers, body)
        if self.listener is not None:
            self.listener(path, headers, body, arrived)


@dataclass
class Turn:
    user: str
    reply_token: str
    message_id: str
    sent_at: float
    answered: asyncio.Future[float]
    acked_at: float | None = None
    refused: int = 0

    @property
    def answered_at(self) -> float | None:
        if self.answered.done() and not self.answered.cancelled():
            return self.answered.result()
        return None


@dataclass
class Deliveries:
    """What reached the LINE stand-in, matched to the turns it answers."""

    by_token: dict[str, Turn] = field(default_factory=dict)
    waiting: dict[str, list[Turn]] = field(default_factory=lambda: defaultdict(list))
    tokens_used: Counter[str] = field(default_factory=Counter)
    retry_keys: set[str] = field(default_factory=set)
    # LINE messages that reached each user (a push retried with a key the
    # stand-in already accepted is refused there, so it is not counted).
    messages: Counter[str] = field(default_factory=Counter)
    reused_tokens: Counter[str] = field(default_factory=Counter)
    pushes: int = 0

    def expect(self, turn: Turn) -> None:
        self.by_token[turn.reply_token] = turn
        self.waiting[turn.user].append(turn)

    def arrived(self, path: str, headers: dict[str, str], body: Any, at: float) -> None:
        if not isinstance(body, dict):
            return
        count = len(body.get("messages") or [])
        if path.endswith("/message/reply"):
            token = str(body.get("replyToken"))
            turn = self.by_token.get(token)
            if turn is None:
                return
            self.tokens_used[token] += 1
            if self.tokens_used[token] > 1:
                # LINE would refuse a used token; the hotline must not try.
                self.reused_tokens[turn.user] += count
                return
            self.messages[turn.user] += count
            self._answer(turn, at)
        elif path.endswith("/message/push"):
            user = str(body.get("to"))
            key = headers.get("x-line-retry-key")
            if key is not None and key in self.retry_keys:
                return
            if key is not None:
                self.retry_keys.add(key)
            self.pushes += 1
            self.messages[user] += count
            # A push answers the worker's oldest turn still waiting, if it
            # was sent before the push arrived.
            for turn in self.waiting.get(user, []):
                if turn.sent_at <= at:
                    self._answer(turn, at)
                    break

    def _answer(self, turn: Turn, at: float) -> None:
        if not turn.answered.done():
            turn.answered.set_result(at)
        waiting = self.waiting.get(turn.user, [])
        if turn in waiting:
            waiting.remove(turn)


# Memory


@dataclass
class MemoryPeaks:
    app_pid: int
    engine_pid: int
    app_kib: int = 0
    engine_kib: int = 0

    async def sample(self, every: float = 0.1) -> None:
        while True:
            self.app_kib = max(self.app_kib, rss_kib(self.app_pid))
            self.engine_kib = max(self.engine_kib, rss_kib(self.engine_pid))
            await asyncio.sleep(every)


# Running a level


@dataclass
class PathFigures:
    turns: int = 0
    answered: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    refused: int = 0
    lost: int = 0
    duplicated: int = 0

    @property
    def per_second(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0


async def in_slots(
    conversations: list[list[tuple[str, Script]]],
    converse: Callable[[str, Script], Awaitable[None]],
    ramp: float,
) -> None:
    """Every slot's conversations one after another, the slots at once,
    their first conversations beginning spread over `ramp` seconds."""

    async def slot(index: int, queue: list[tuple[str, Script]]) -> None:
        await asyncio.sleep(ramp * index / len(conversations))
        for sender, script in queue:
            await converse(sender, script)

    await asyncio.gather(*(slot(index, queue) for index, queue in enumerate(conversations)))


async def through_hotline(
    app_url: str,
    deliveries: Deliveries,
    client: httpx.AsyncClient,
    conversations: list[list[tuple[str, Script]]],
    ramp: float = RAMP_SECONDS,
) -> tuple[PathFigures, list[Turn]]:
    """Every slot's conversations one after another, the slots at once
    (beginning within `ramp` seconds), as signed LINE webhooks to `app_url`."""
    loop = asyncio.get_running_loop()
    turns: list[Turn] = []

    async def converse(user: str, script: Script) -> None:
        for words in script.texts:
            event = text_event(user, words)
            body = webhook_body(event)
            headers = line_headers(body)
            turn = Turn(
                user,
                event["replyToken"],
                event["message"]["id"],
                time.monotonic(),
                loop.create_future(),
            )
            deliveries.expect(turn)
            turns.append(turn)
            while True:
                try:
                    response = await client.post(
                        f"{app_url}/webhooks/line", content=body, headers=headers
                    )
                    if response.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                # Not acknowledged: LINE sends the same event again.
                turn.refused += 1
                await asyncio.sleep(1.0)
            turn.acked_at = time.monotonic()
            try:
                await asyncio.wait_for(asyncio.shield(turn.answered), TURN_TIMEOUT)
            except TimeoutError:
                continue  # lost; the worker goes on

    started = time.monotonic()
    await in_slots(conversations, converse, ramp)
    answered = [turn.answered_at for turn in turns if turn.answered_at is not None]
    figures = PathFigures(
        turns=len(turns),
        answered=len(answered),
        seconds=(max(answered) if answered else time.monotonic()) - started,
        latencies=[
            turn.answered_at - turn.sent_at for turn in turns if turn.answered_at is not None
        ],
        acks=[turn.acked_at - turn.sent_at for turn in turns if turn.acked_at is not None],
        refused=sum(turn.refused for turn in turns),
    )
    return figures, turns


async def straight_to_engine(
    engine_url: str, client: httpx.AsyncClient, conversations: list[list[tuple[str, Script]]]
) -> PathFigures:
    figures = PathFigures()
    ends: list[float] = []

    async def converse(sender: str, script: Script) -> None:
        for words in script.texts:
            figures.turns += 1
            sent = time.monotonic()
            try:
                response = await client.post(
                    f"{engine_url}/webhooks/rest/webhook",
                    json={"sender": sender, "message": words},
                    timeout=TURN_TIMEOUT,
                )
                answers = response.json() if response.status_code == 200 else []
            except (httpx.HTTPError, ValueError):
                answers = []
            if isinstance(answers, list) and answers:
                done = time.monotonic()
                figures.answered += 1
                figures.latencies.append(done - sent)
                ends.append(done)
            else:
                figures.lost += 1

    started = time.monotonic()
    await in_slots(conversations, converse, RAMP_SECONDS)
    figures.seconds = (max(ends) if ends else time.monotonic()) - started
    return figures


def per_slot(
    users: list[str], all_scripts: list[Script], level: int
) -> list[list[tuple[str, Script]]]:
    """The conversations dealt to `level` slots, each with its own sender."""
    slots: list[list[tuple[str, Script]]] = [[] for _ in range(level)]
    for number, (user, script) in enumerate(zip(users, all_scripts, strict=True)):
        slots[number % level].append((user, script))
    return slots


async def known_conversations(database_url: str, workers: list[tuple[str, str]]) -> list[str]:
    """The engine's sender ids for LINE workers (user id, language) the app knows.

    Straight to the engine, a sender must still be a conversation of the
    app's: the engine's actions run in the app and look the worker up. The
    hotline makes these on a worker's first message; here they are made
    beforehand, outside the timing, with the language the hotline would
    have detected.
    """
    engine = create_engine(database_url, Vault([TEST_ENCRYPTION_KEY]))
    sessions = create_sessionmaker(engine)
    public_ids = []
    try:
        async with sessions.begin() as session:
            for user, language in workers:
                worker = await service.get_or_create_worker(
                    session=session, channel="line", channel_user_id=user
                )
                service.note_detected_language(worker, language)
                conversation = await service.current_conversation(session=session, worker=worker)
                public_ids.append(conversation.public_id)
    finally:
        await engine.dispose()
    return public_ids


def merged(parts: list[PathFigures]) -> PathFigures:
    """One path's figures over several rounds."""
    whole = PathFigures()
    for part in parts:
        whole.turns += part.turns
        whole.answered += part.answered
        whole.seconds += part.seconds
        whole.latencies += part.latencies
        whole.acks += part.acks
        whole.refused += part.refused
        whole.lost += part.lost
    return whole


async def run_level(
    hotline: RunningHotline,
    deliveries: Deliveries,
    messages: dict[str, dict[str, list[str]]],
    level: int,
    turns: int,
    min_turns: int,
    name: str,
    rounds: int = ROUNDS,
    relay_url: str | None = None,
) -> dict[str, Any]:
    """One level through both paths, in rounds that alternate them.

    A shared machine drifts within minutes (the engine alone moved by a
    quarter between runs): each round sends some of the conversations
    through the hotline and then the same ones straight to the engine, so
    both paths meet the same stretch of the machine's day. With `relay_url`
    (see bench/bare_relay.py) each round also sends them through a relay
    that stores nothing, between the two.
    """
    rounds = max(1, rounds)
    per_round = level * max(1, math.ceil(min_turns / (level * turns * rounds)))
    count = per_round * rounds
    level_scripts = scripts(messages, count, turns, seed=level)
    limits = httpx.Limits(max_connections=level + 10, max_keepalive_connections=level + 10)
    memory = MemoryPeaks(hotline.app_pid, hotline.engine_pid)
    sampler = asyncio.create_task(memory.sample())

    def now() -> tuple[float, float, float]:
        # App, engine, and this process (the simulated workers and the LINE stand-in).
        return (
            cpu_seconds(hotline.app_pid),
            cpu_seconds(hotline.engine_pid),
            cpu_seconds(os.getpid()),
        )

    # Processor seconds per process on each path, summed over the rounds.
    cpu = {"hotline": [0.0, 0.0, 0.0], "direct": [0.0, 0.0, 0.0]}

    def add_cpu(path: str, begin: tuple[float, float, float]) -> None:
        for process, value in enumerate(now()):
            cpu[path][process] += value - begin[process]

    users = [f"U-load-{name}-{number}" for number in range(count)]
    senders = await known_conversations(
        hotline.database_url,
        [(f"U-direct-{name}-{n}", script.language) for n, script in enumerate(level_scripts)],
    )
    relay_users = (
        await known_conversations(
            hotline.database_url,
            [(f"U-relay-{name}-{n}", script.language) for n, script in enumerate(level_scripts)],
        )
        if relay_url is not None
        else []
    )
    hotline_parts: list[PathFigures] = []
    relay_parts: list[PathFigures] = []
    direct_parts: list[PathFigures] = []
    hotline_turns: list[Turn] = []
    peaks = {"app": 0, "engine": 0, "app_direct": 0, "engine_direct": 0}
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for number in range(rounds):
            chosen = slice(number * per_round, (number + 1) * per_round)
            begin = now()
            figures, sent = await through_hotline(
                hotline.app_url,
                deliveries,
                client,
                per_slot(users[chosen], level_scripts[chosen], level),
            )
            add_cpu("hotline", begin)
            hotline_parts.append(figures)
            hotline_turns += sent
            await asyncio.sleep(SETTLE_SECONDS)
            peaks["app"] = max(peaks["app"], memory.app_kib)
            peaks["engine"] = max(peaks["engine"], memory.engine_kib)
            memory.app_kib = memory.engine_kib = 0
            if relay_url is not None:
                relayed, _ = await through_hotline(
                    relay_url,
                    deliveries,
                    client,
                    per_slot(relay_users[chosen], level_scripts[chosen], level),
                )
                relay_parts.append(relayed)
                await asyncio.sleep(SETTLE_SECONDS)
                memory.app_kib = memory.engine_kib = 0
            begin = now()
            direct_parts.append(
                await straight_to_engine(
                    hotline.engine_url,
                    client,
                    per_slot(senders[chosen], level_scripts[chosen], level),
                )
            )
            add_cpu("direct", begin)
            peaks["app_direct"] = max(peaks["app_direct"], memory.app_kib)
            peaks["engine_direct"] = max(peaks["engine_direct"], memory.engine_kib)
            memory.app_kib = memory.engine_kib = 0
    sampler.cancel()
    hotline_figures, direct = merged(hotline_parts), merged(direct_parts)

    def per_turn(path: str, process: int, turns: int) -> float:
        return round(1000 * cpu[path][process] / max(1, turns), 1)

    return {
        "level": level,
        "conversations": count,
        "rounds": rounds,
        "hotline": hotline_figures,
        "relay": merged(relay_parts) if relay_parts else None,
        "direct": direct,
        "users": set(users),
        "message_ids": {turn.message_id for turn in hotline_turns},
        "memory_kib": peaks,
        # Processor time per turn, from /proc: what each path costs.
        "cpu_ms_per_turn": {
            "app": per_turn("hotline", 0, hotline_figures.turns),
            "engine": per_turn("hotline", 1, hotline_figures.turns),
            "app_direct": per_turn("direct", 0, direct.turns),
            "engine_direct": per_turn("direct", 1, direct.turns),
            "bench": per_turn("hotline", 2, hotline_figures.turns),
            "bench_direct": per_turn("direct", 2, direct.turns),
        },
    }


async def first_messages_at_once(
    hotline: RunningHotline,
    deliveries: Deliveries,
    messages: dict[str, dict[str, list[str]]],
    count: int,
) -> dict[str, Any]:
    """`count` new workers send their first message at the same instant.

    The hardest moment for the acknowledgement: a first message also makes
    the worker and the conversation, and all of them queue for the app at once.
    """
    conversations = [
        [
            (
                f"U-burst-{number}",
                Script(
                    LANGUAGES[number % len(LANGUAGES)],
                    [messages[LANGUAGES[number % len(LANGUAGES)]]["greet"][0]],
                ),
            )
        ]
        for number in range(count)
    ]
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        figures, _ = await through_hotline(
            hotline.app_url, deliveries, client, conversations, ramp=0
        )
    await asyncio.sleep(SETTLE_SECONDS)
    return {
        "workers": count,
        "ack_p50_ms": milliseconds(figures.acks, 0.5),
        "ack_p99_ms": milliseconds(figures.acks, 0.99),
        "ack_max_ms": round(1000 * max(figures.acks), 1) if figures.acks else None,
        "reply_p50_ms": milliseconds(figures.latencies, 0.5),
        "reply_max_ms": round(1000 * max(figures.latencies), 1) if figures.latencies else None,
        "unanswered": figures.turns - figures.answered,
    }


def settle_counts(results: list[dict[str, Any]], deliveries: Deliveries, database_url: str) -> None:
    """Lost and duplicated replies per level, from the stand-in and the database."""
    counts = database_counts(database_url)
    written: Counter[str] = Counter()
    undelivered: Counter[str] = Counter()
    for user, status, number in counts["outbound"]:
        if status == "sent":
            written[user] += number
        elif status in ("queued", "failed"):
            undelivered[user] += number
    inbound = Counter((row.channel, row.platform_message_id) for row in counts["inbound"])
    stored_twice = {key[1] for key, number in inbound.items() if number > 1}
    # Each turn's event is sent once (again only if refused), so a message
    # stored twice would be answered twice.
    for result in results:
        figures: PathFigures = result["hotline"]
        users = result["users"]
        unanswered = figures.turns - figures.answered
        figures.lost = unanswered + sum(undelivered[user] for user in users)
        twice = stored_twice & result["message_ids"]
        figures.duplicated = len(twice)
        # What went wrong where, for whoever looks into a count that is not 0.
        result["lost_or_duplicated"] = [f"message {id} stored twice" for id in sorted(twice)]
        for user in sorted(users):
            extra = max(0, deliveries.messages[user] - written[user])
            figures.duplicated += deliveries.reused_tokens[user] + extra
            if deliveries.reused_tokens[user] or extra or undelivered[user]:
                result["lost_or_duplicated"].append(
                    f"{user}: {deliveries.messages[user]} messages delivered, "
                    f"{written[user]} written as sent, {undelivered[user]} not sent, "
                    f"{deliveries.reused_tokens[user]} on a used reply token"
                )
        result["pushes"] = deliveries.pushes


def milliseconds(values: list[float], share: float) -> float:
    return round(1000 * percentile(values, share), 1)


def summary(result: dict[str, Any]) -> dict[str, Any]:
    hotline: PathFigures = result["hotline"]
    direct: PathFigures = result["direct"]
    relay: PathFigures | None = result["relay"]
    return {
        "conversations_at_once": result["level"],
        "conversations": result["conversations"],
        "turns": hotline.turns,
        "ack_p50_ms": milliseconds(hotline.acks, 0.5),
        "ack_p99_ms": milliseconds(hotline.acks, 0.99),
        "reply_p50_ms": milliseconds(hotline.latencies, 0.5),
        "reply_p95_ms": milliseconds(hotline.latencies, 0.95),
        "reply_p99_ms": milliseconds(hotline.latencies, 0.99),
        "hotline_turns_per_second": round(hotline.per_second, 2),
        "direct_turns_per_second": round(direct.per_second, 2),
        "ratio": round(hotline.per_second / direct.per_second, 3) if direct.per_second else None,
        "relay_turns_per_second": round(relay.per_second, 2) if relay else None,
        "relay_ratio": (
            round(relay.per_second / direct.per_second, 3) if relay and direct.per_second else None
        ),
        "relay_p50_ms": milliseconds(relay.latencies, 0.5) if relay else None,
        "relay_lost": relay.turns - relay.answered if relay else None,
        "direct_p50_ms": milliseconds(direct.latencies, 0.5),
        "direct_p95_ms": milliseconds(direct.latencies, 0.95),
        "direct_p99_ms": milliseconds(direct.latencies, 0.99),
        "lost": hotline.lost,
        "duplicated": hotline.duplicated,
        "direct_lost": direct.lost,
        "refused_webhooks": hotline.refused,
        "lost_or_duplicated": result["lost_or_duplicated"],
        "app_cpu_ms_per_turn": result["cpu_ms_per_turn"]["app"],
        "app_cpu_ms_per_turn_direct": result["cpu_ms_per_turn"]["app_direct"],
        "engine_cpu_ms_per_turn": result["cpu_ms_per_turn"]["engine"],
        "engine_cpu_ms_per_turn_direct": result["cpu_ms_per_turn"]["engine_direct"],
        "bench_cpu_ms_per_turn": result["cpu_ms_per_turn"]["bench"],
        "bench_cpu_ms_per_turn_direct": result["cpu_ms_per_turn"]["bench_direct"],
        "app_peak_mib": round(result["memory_kib"]["app"] / 1024),
        "engine_peak_mib": round(result["memory_kib"]["engine"] / 1024),
    }


COLUMNS = (
    ("conversations_at_once", "at once"),
    ("turns", "turns"),
    ("ack_p50_ms", "ack p50 ms"),
    ("ack_p99_ms", "ack p99 ms"),
    ("reply_p50_ms", "reply p50 ms"),
    ("reply_p95_ms", "reply p95 ms"),
    ("reply_p99_ms", "reply p99 ms"),
    ("hotline_turns_per_second", "hotline turns/s"),
    ("direct_turns_per_second", "direct turns/s"),
    ("ratio", "ratio"),
    ("direct_p50_ms", "direct p50 ms"),
    ("direct_p99_ms", "direct p99 ms"),
    ("lost", "lost"),
    ("duplicated", "duplicated"),
    ("app_peak_mib", "app peak MiB"),
    ("engine_peak_mib", "engine peak MiB"),
)


def targets(rows: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    checked = []
    at_target = [row for row in rows if row["conversations_at_once"] == TARGET_AT]
    for row in at_target:
        checked.append(
            (
                f"acknowledgement p99 under {TARGET_ACK_P99_MS:.0f} ms at {TARGET_AT} at once",
                row["ack_p99_ms"] < TARGET_ACK_P99_MS,
                f"{row['ack_p99_ms']} ms",
            )
        )
    for row in rows:
        ratio = row["ratio"] or 0.0
        relay = row.get("relay_ratio")
        checked.append(
            (
                f"throughput at least {TARGET_RATIO:.0%} of straight-to-engine "
                f"at {row['conversations_at_once']} at once",
                ratio >= TARGET_RATIO,
                f"{ratio:.0%}" + (f"; the bare relay {relay:.0%}" if relay is not None else ""),
            )
        )
    lost = sum(row["lost"] for row in rows)
    duplicated = sum(row["duplicated"] for row in rows)
    checked.append(("no reply lost", lost == 0, str(lost)))
    checked.append(("no reply duplicated", duplicated == 0, str(duplicated)))
    return checked


RELAY_COLUMNS = (
    ("conversations_at_once", "at once"),
    ("relay_turns_per_second", "bare relay turns/s"),
    ("direct_turns_per_second", "direct turns/s"),
    ("relay_ratio", "bare relay ratio"),
    ("ratio", "hotline ratio"),
    ("relay_p50_ms", "bare relay reply p50 ms"),
    ("reply_p50_ms", "hotline reply p50 ms"),
    ("direct_p50_ms", "direct p50 ms"),
)

CPU_COLUMNS = (
    ("conversations_at_once", "at once"),
    ("app_cpu_ms_per_turn", "app, hotline"),
    ("app_cpu_ms_per_turn_direct", "app, direct"),
    ("engine_cpu_ms_per_turn", "engine, hotline"),
    ("engine_cpu_ms_per_turn_direct", "engine, direct"),
    ("bench_cpu_ms_per_turn", "workers and stand-in, hotline"),
    ("bench_cpu_ms_per_turn_direct", "workers, direct"),
)


def table(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...] = COLUMNS) -> str:
    header = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "|".join("---:" for _ in columns) + "|"
    body = ["| " + " | ".join(str(row[key]) for key, _ in columns) + " |" for row in rows]
    return "\n".join([header, rule, *body])


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "python": platform.python_version(),
    }


async def start_bare_relay(hotline: RunningHotline) -> tuple[subprocess.Popen[bytes], str]:
    """bench/bare_relay.py on a port of its own, on the same engine and LINE stand-in."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            str(APP_PYTHON.parent / "uvicorn"), "bench.bare_relay:app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LINE_CHANNEL_SECRET": line_api.CHANNEL_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": line_api.ACCESS_TOKEN,
            "LINE_API_BASE_URL": hotline.line.url,
            "RASA_URL": hotline.engine_url,
        },
    )  # fmt: skip
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(300):
            try:
                await client.get(url)  # any answer (404) means it listens
                return process, url
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    process.terminate()
    raise RuntimeError("the bare relay did not start")


async def run(
    levels: list[int], turns: int, min_turns: int, postgres: str | None = None
) -> dict[str, Any]:
    host = machine()
    started = datetime.now(UTC)
    line = TimedLine()
    hotline = await start_hotline(
        prefix="hotline-load-", line=line, telegram=False, postgres=postgres
    )
    relay: subprocess.Popen[bytes] | None = None
    try:
        relay, relay_url = await start_bare_relay(hotline)
        loop = asyncio.get_running_loop()
        deliveries = Deliveries()

        def heard(path: str, headers: dict[str, str], body: Any, at: float) -> None:
            loop.call_soon_threadsafe(deliveries.arrived, path, headers, body, at)

        line.listener = heard
        print("choosing messages the engine understands...", flush=True)
        messages = await understood_messages(hotline.engine_url)
        # One conversation per language through both paths first, unmeasured:
        # the first messages pay for loading and compiling in the engine.
        print("warming up...", flush=True)
        await run_level(
            hotline,
            deliveries,
            messages,
            len(LANGUAGES),
            3,
            1,
            "warm",
            rounds=1,
            relay_url=relay_url,
        )
        results = []
        for level in levels:
            print(f"{level} at once...", flush=True)
            results.append(
                await run_level(
                    hotline,
                    deliveries,
                    messages,
                    level,
                    turns,
                    min_turns,
                    str(level),
                    relay_url=relay_url,
                )
            )
        settle_counts(results, deliveries, hotline.database_url)
        print(f"{TARGET_AT} first messages at the same instant...", flush=True)
        burst = await first_messages_at_once(hotline, deliveries, messages, TARGET_AT)
        lifetime = {
            "app_mib": round(peak_rss_kib(hotline.app_pid) / 1024),
            "engine_mib": round(peak_rss_kib(hotline.engine_pid) / 1024),
        }
    finally:
        if relay is not None:
            relay.terminate()
            relay.wait(timeout=30)
        hotline.stop()
    rows = [summary(result) for result in results]
    return {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "database": "PostgreSQL" if postgres else "SQLite",
        "machine": host,
        "turns_per_conversation": turns,
        "min_turns_per_level": min_turns,
        "languages": list(LANGUAGES),
        "messages_per_language": {
            language: sum(len(texts) for texts in messages[language].values())
            for language in LANGUAGES
        },
        "levels": rows,
        "pushes": results[-1]["pushes"] if results else 0,
        "ramp_seconds": RAMP_SECONDS,
        "first_messages_at_once": burst,
        "lifetime_peak": lifetime,
        "targets": [
            {"target": name, "met": met, "measured": measured}
            for name, met, measured in targets(rows)
        ],
    }


def report(result: dict[str, Any]) -> str:
    host = result["machine"]
    lines = [
        f"{result['date']}; {host['cores']} cores ({host['cpu']}), "
        f"load average at start {' '.join(str(v) for v in host['load_average'])}",
        f"conversations of {result['turns_per_conversation']} turns, at least "
        f"{result['min_turns_per_level']} turns per level; LINE pushes "
        f"(answers beyond the reply token) {result['pushes']}",
        "",
        table(result["levels"]),
        "",
        "against a relay that stores nothing (bench/bare_relay.py):",
        table(result["levels"], RELAY_COLUMNS),
        "",
        "processor time per turn, ms:",
        table(result["levels"], CPU_COLUMNS),
        "",
        f"peak memory over the whole run: app {result['lifetime_peak']['app_mib']} MiB, "
        f"engine {result['lifetime_peak']['engine_mib']} MiB",
        "",
        burst_sentence(result),
        "",
    ]
    for target in result["targets"]:
        verdict = "met" if target["met"] else "MISSED"
        lines.append(f"- {target['target']}: {verdict} ({target['measured']})")
    return "\n".join(lines)


def burst_sentence(result: dict[str, Any]) -> str:
    burst = result["first_messages_at_once"]
    return (
        f"{burst['workers']} new workers' first messages sent at the same instant "
        f"(not part of the levels above, where conversations begin within "
        f"{result['ramp_seconds']:g} s): acknowledgement p50 {burst['ack_p50_ms']} ms, "
        f"p99 {burst['ack_p99_ms']} ms, slowest {burst['ack_max_ms']} ms; reply p50 "
        f"{burst['reply_p50_ms']} ms, slowest {burst['reply_max_ms']} ms; "
        f"{burst['unanswered']} unanswered."
    )


NOTES_MARK = "<!-- Written by hand below this line; bench/load.py keeps it. -->"


def write_docs(result: dict[str, Any]) -> None:
    """docs/load.md (SQLite) or docs/load-postgresql.md with this run's
    figures; what was written by hand under NOTES_MARK (why a target is
    missed, what was changed) is kept."""
    database = result["database"]
    docs = DOCS if database == "SQLite" else DOCS.with_name("load-postgresql.md")
    notes = ""
    if docs.exists() and NOTES_MARK in docs.read_text():
        notes = docs.read_text().split(NOTES_MARK, 1)[1].strip()
    docs.write_text(
        f"# Load benchmark on {database}: last run\n\n"
        f"Written by `bench/load.py` on {result['date']}, on a machine with "
        f"{result['machine']['cores']} cores ({result['machine']['cpu']}), load average "
        f"{' '.join(str(v) for v in result['machine']['load_average'])} at the start. "
        f"Engine (trained model), app, {database} database and the LINE stand-in all on "
        "that "
        "machine, with the load generator.\n\n"
        f"{table(result['levels'])}\n\n"
        f"Conversations of {result['turns_per_conversation']} turns, at least "
        f"{result['min_turns_per_level']} turns per level; answers beyond what one "
        f"reply-token call carries were pushed {result['pushes']} times. Peak memory over "
        f"the whole run, start-up included: app {result['lifetime_peak']['app_mib']} MiB, "
        f"engine {result['lifetime_peak']['engine_mib']} MiB.\n\n"
        "The same conversations through a bare relay (`bench/bare_relay.py`), in the "
        "same rounds: it checks and parses the signed webhook with the LINE SDK, sends "
        "the text to the engine and the answer back with the SDK's reply call, and "
        "stores, orders, retries and encrypts nothing. Its ratio is what the two "
        "platform hops alone cost against the engine answering on its own: the most "
        "any relay on this stack reaches on this machine.\n\n"
        f"{table(result['levels'], RELAY_COLUMNS)}\n\n"
        "Processor time per turn (ms), from `/proc`, through the hotline and straight to "
        "the engine:\n\n"
        f"{table(result['levels'], CPU_COLUMNS)}\n\n"
        f"{burst_sentence(result)}\n\n"
        "## Targets\n\n"
        + "\n".join(
            f"- {target['target']}: **{'met' if target['met'] else 'missed'}** "
            f"({target['measured']})"
            for target in result["targets"]
        )
        + "\n\n## How to read it\n\n"
        "- *at once*: conversations in progress at the same time. Each virtual worker is "
        "its own LINE user with a scripted conversation in one language (en, th, my, km, "
        "lo in turn): a greeting, rights questions from the held-out set, thanks. A worker "
        "sends the next message only once the answer to the previous one reached the LINE "
        "stand-in, so a level keeps that many turns in flight, no more. The level's "
        f"conversations begin spread over its first {RAMP_SECONDS:g} s, on both paths. "
        "*turns*: worker messages sent at that level (a turn is one message answered).\n"
        "- *ack*: from sending the signed webhook until the app's 200. LINE waits about "
        "two seconds and redelivers what was not acknowledged; the app writes the message "
        "to its inbox (on disk, encrypted) before answering 200 and does everything else, "
        "storing it in the database included, afterwards.\n"
        "- *reply*: from sending the webhook until the LINE stand-in receives the reply "
        "(the reply-token call, or a push). It includes the app's work and the engine's, "
        "and the engine's calls back to the app for every response and action.\n"
        "- *hotline turns/s* against *direct turns/s*: the same conversations (same "
        "texts, the same number at once, other sender ids) sent straight to the engine's "
        "REST channel, waiting for its answer. Each level runs in rounds that alternate "
        "the paths (a share of the conversations through the hotline, then the same ones "
        "straight to the engine), so that both meet the same stretch of a shared "
        "machine's day. The engine still calls the app for its responses and actions, "
        "as it must. "
        "*ratio* is hotline over direct: what storing, encrypting, the webhook, the "
        "outbox and the LINE API cost on top of the engine.\n"
        "- *lost*: turns never answered within a minute, plus replies stored but never "
        "accepted by the stand-in. *duplicated*: a reply token used twice, or more "
        "messages reaching the stand-in for a worker than the hotline wrote for them.\n"
        "- *peak MiB*: the most resident memory (VmRSS, sampled every 0.1 s) of each "
        "process while the level ran through the hotline.\n"
        "- *processor time per turn*: user and system time of each process over the run "
        "(from `/proc`), divided by the turns. What the app spends on a turn through the "
        "hotline, against what it spends answering the engine's calls for the same turn "
        "sent straight to the engine, is what the hotline costs; the engine's own time "
        "should be about the same on both paths.\n"
        "- Everything shares the same cores: the load generator and the stand-in take "
        "some of the CPU the app and engine would have alone, on both paths.\n\n"
        "    .venv/bin/python bench/load.py [--levels 1,10,50] [--turns 6] "
        "[--postgres URL] [--write-docs]\n\n"
        f"```json\n{json.dumps(result, indent=1, ensure_ascii=False)}\n```\n\n"
        f"{NOTES_MARK}\n\n{notes}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,10,50", help="conversations at once, e.g. 1,10,50")
    parser.add_argument("--turns", type=int, default=6, help="messages per conversation")
    parser.add_argument(
        "--min-turns",
        type=int,
        default=150,
        help="at least this many turns per level (small levels run more conversations in a row)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="a PostgreSQL server (postgresql://user:password@host/db) to run on instead "
        "of SQLite; a fresh database is made on it and dropped afterwards",
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write docs/load.md (SQLite) or docs/load-postgresql.md",
    )
    arguments = parser.parse_args()
    levels = [int(value) for value in arguments.levels.split(",") if value.strip()]
    result = asyncio.run(
        run(levels, arguments.turns, arguments.min_turns, postgres=arguments.postgres)
    )
    text_report = report(result)
    print(text_report)
    print(json.dumps(result, ensure_ascii=False))
    if arguments.write_docs:
        write_docs(result)


if __name__ == "__main__":
    main()
