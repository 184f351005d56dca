"""Soak benchmark: the running hotline under steady LINE and Telegram traffic,
with the engine restarted once and the app restarted once along the way.

Virtual workers write through signed webhooks to the real app (real engine,
real database); the LINE and Telegram stand-ins record every reply. A worker
whose message is refused or not reached (the app restarting) sends it again
with the same event id, as the platforms redeliver. At the end the traffic
stops, the hotline is given time to catch up, and the database and the
stand-ins are compared with what was accepted. Prints:

- messages accepted, answered, lost and duplicated (stored twice, or a reply
  delivered more often than it was written);
- reply latency p50 and p99 (from the first send to the first reply) before,
  during and after each restart;
- the resident memory of app and engine at start and end of each process's
  longest uninterrupted stretch, and the growth.

    .venv/bin/python bench/soak.py [--minutes 12] [--workers 24] [--write-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.running_hotline import (
    ROOT,
    RunningHotline,
    database_counts,
    line_headers,
    percentile,
    rss_kib,
    start_hotline,
    steady_messages,
    telegram_headers,
    wait_healthy,
)
from tests.fakes.line_api import FakeLine, text_event, webhook_body
from tests.fakes.telegram_api import FakeTelegram, text_update

DOCS = ROOT / "docs" / "soak.md"
HANDLED = ("answered", "rate_limited", "for_staff")


@dataclass
class Sent:
    channel: str
    user: str
    event_id: str
    first_try: float
    accepted_at: float | None = None
    replied_at: float | None = None


@dataclass
class Soak:
    app_url: str
    line: FakeLine
    telegram: FakeTelegram
    messages: list[str]
    sent: list[Sent] = field(default_factory=list)
    # user -> arrival times of replies at the stand-ins
    replies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    reply_tokens: dict[str, str] = field(default_factory=dict)
    running: bool = True
    _seen: dict[str, int] = field(default_factory=lambda: {"line": 0, "telegram": 0})

    def collect(self) -> None:
        """Note the replies the stand-ins received since the last look."""
        now = time.monotonic()
        for name, fake in (("line", self.line), ("telegram", self.telegram)):
            with fake._lock:
                new = fake.requests[self._seen[name] :]
                self._seen[name] += len(new)
            for request in new:
                body = request.body if isinstance(request.body, dict) else {}
                if request.path.endswith("/message/reply"):
                    user = self.reply_tokens.get(str(body.get("replyToken")))
                elif request.path.endswith("/message/push"):
                    user = str(body.get("to"))
                elif request.path.endswith("/sendMessage"):
                    user = str(body.get("chat_id"))
                else:
                    continue
                if user:
                    count = len(body.get("messages", [])) if "messages" in body else 1
                    self.replies[user].extend([now] * count)

    async def post(self, client: httpx.AsyncClient, channel: str, body: bytes) -> bool:
        if channel == "line":
            headers, path = line_headers(body), "/webhooks/line"
        else:
            headers, path = telegram_headers(), "/webhooks/telegram"
        try:
            response = await client.post(f"{self.app_url}{path}", content=body, headers=headers)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def worker(self, channel: str, number: int, think: tuple[float, float]) -> None:
        rng = random.Random(number)
        user = f"U-soak-{number}" if channel == "line" else str(880_000 + number)
        update_id = number * 1_000_000
        async with httpx.AsyncClient(timeout=10) as client:
            while self.running:
                words = rng.choice(self.messages)
                if channel == "line":
                    event = text_event(user, words)
                    self.reply_tokens[event["replyToken"]] = user
                    body, event_id = webhook_body(event), event["webhookEventId"]
                else:
                    update_id += 1
                    body = json.dumps(text_update(update_id, int(user), words)).encode()
                    event_id = str(update_id)
                item = Sent(channel, user, event_id, first_try=time.monotonic())
                self.sent.append(item)
                replies_before = len(self.replies[user])
                # Redeliver until accepted, as LINE and Telegram do.
                while not await self.post(client, channel, body):
                    await asyncio.sleep(1.0)
                item.accepted_at = time.monotonic()
                deadline = time.monotonic() + 180
                while len(self.replies[user]) <= replies_before and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                if len(self.replies[user]) > replies_before:
                    item.replied_at = self.replies[user][replies_before]
                await asyncio.sleep(rng.uniform(*think))

    async def collector(self) -> None:
        while True:
            self.collect()
            await asyncio.sleep(0.05)


async def run(minutes: float, workers: int, think: tuple[float, float]) -> dict[str, Any]:
    hotline = await start_hotline(
        prefix="hotline-soak-", environment={"HOTLINE_DELIVERY_SWEEP_SECONDS": "5"}
    )
    try:
        return await soak_for(hotline, minutes, workers, think)
    finally:
        hotline.stop()


async def soak_for(
    hotline: RunningHotline, minutes: float, workers: int, think: tuple[float, float]
) -> dict[str, Any]:
    processes, database_url, app_url = hotline.processes, hotline.database_url, hotline.app_url
    assert hotline.telegram is not None
    line, telegram = hotline.line, hotline.telegram
    soak = Soak(app_url, line, telegram, steady_messages())
    collector = asyncio.create_task(soak.collector())
    tasks = [
        asyncio.create_task(soak.worker("line" if n % 2 else "telegram", n, think))
        for n in range(workers)
    ]
    total = minutes * 60
    start = time.monotonic()
    marks: dict[str, float] = {}
    memory: dict[str, int] = {}

    async def until(fraction: float) -> None:
        await asyncio.sleep(max(0.0, start + fraction * total - time.monotonic()))

    assert processes.engine is not None and processes.app is not None
    await until(0.08)
    memory["engine_start"] = rss_kib(processes.engine.pid)
    memory["app_start"] = rss_kib(processes.app.pid)
    # The engine restarts early and the app late, so each has a long
    # uninterrupted stretch to measure memory over: the app before its
    # restart, the engine after its own.
    await until(0.2)
    marks["engine_restart"] = time.monotonic()
    memory["engine_before_restart"] = rss_kib(processes.engine.pid)
    processes.stop(processes.engine)
    processes.start_engine()
    marks["engine_back"] = marks["engine_restart"] + await wait_healthy(app_url)
    await asyncio.sleep(30)
    memory["engine_after_restart"] = rss_kib(processes.engine.pid)
    await until(0.7)
    marks["app_restart"] = time.monotonic()
    memory["app_before_restart"] = rss_kib(processes.app.pid)
    processes.stop(processes.app)
    processes.start_app()
    marks["app_back"] = marks["app_restart"] + await wait_healthy(app_url)
    await until(1.0)
    memory["engine_end"] = rss_kib(processes.engine.pid)
    memory["app_end"] = rss_kib(processes.app.pid)
    soak.running = False
    # Catch up: every accepted message answered, every reply sent.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        counts = database_counts(database_url)
        waiting = [row for row in counts["inbound"] if row.status not in HANDLED]
        queued = [row for row in counts["outbound"] if row.status == "queued"]
        if not waiting and not queued and all(task.done() for task in tasks):
            break
        await asyncio.sleep(1)
    await asyncio.sleep(2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    soak.collect()
    collector.cancel()
    counts = database_counts(database_url)
    return summarise(soak, counts, marks, memory, minutes, workers)


def summarise(
    soak: Soak,
    counts: dict[str, Any],
    marks: dict[str, float],
    memory: dict[str, int],
    minutes: float,
    workers: int,
) -> dict[str, Any]:
    accepted = [item for item in soak.sent if item.accepted_at is not None]
    events = {(row.channel, row.event_id) for row in counts["events"]}
    not_stored = [item for item in accepted if (item.channel, item.event_id) not in events]
    inbound_ids = [(row.channel, row.platform_message_id) for row in counts["inbound"]]
    stored_twice = len(inbound_ids) - len(set(inbound_ids))
    unanswered = [row for row in counts["inbound"] if row.status not in HANDLED]
    never_replied = [item for item in accepted if item.replied_at is None]
    written: dict[str, int] = defaultdict(int)
    failed = 0
    for user, status, count in counts["outbound"]:
        if status == "sent":
            written[user] += count
        elif status in ("failed", "queued"):
            failed += count
    delivered_twice = sum(
        max(0, len(soak.replies[user]) - written.get(user, 0)) for user in soak.replies
    )

    def phase(item: Sent) -> str:
        for name, begin, end in (
            ("engine restart", marks["engine_restart"], marks["engine_back"] + 20),
            ("app restart", marks["app_restart"], marks["app_back"] + 20),
        ):
            if begin <= item.first_try <= end:
                return f"during {name}"
        if item.first_try < marks["engine_restart"]:
            return "before engine restart"
        if item.first_try < marks["app_restart"]:
            return "between restarts"
        return "after app restart"

    latencies: dict[str, list[float]] = defaultdict(list)
    for item in accepted:
        if item.replied_at is not None:
            latencies[phase(item)].append(item.replied_at - item.first_try)

    def growth(first: str, last: str) -> float:
        return 100.0 * (memory[last] - memory[first]) / memory[first]

    return {
        "minutes": minutes,
        "workers": workers,
        "accepted": len(accepted),
        "answered": len(accepted) - len(never_replied),
        "lost": len(not_stored) + len(unanswered) + failed,
        "duplicated": stored_twice + delivered_twice,
        "never_replied": len(never_replied),
        # How the hotline recorded each stored message: answered by the bot,
        # asked to slow down, or left for staff (the bot is silent then).
        "stored_as": dict(sorted(Counter(row.status for row in counts["inbound"]).items())),
        "engine_down_seconds": round(marks["engine_back"] - marks["engine_restart"], 1),
        "app_down_seconds": round(marks["app_back"] - marks["app_restart"], 1),
        "latency": {
            name: {
                "count": len(values),
                "p50_ms": round(1000 * statistics.median(values)),
                "p99_ms": round(1000 * percentile(values, 0.99)),
            }
            for name, values in sorted(latencies.items())
        },
        "memory_kib": memory,
        "app_growth_percent": round(growth("app_start", "app_before_restart"), 1),
        "engine_growth_percent": round(growth("engine_after_restart", "engine_end"), 1),
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['minutes']} minutes, {result['workers']} workers (half LINE, half Telegram)",
        f"accepted {result['accepted']}, answered {result['answered']}, "
        f"lost {result['lost']}, duplicated {result['duplicated']}",
        f"no reply at the stand-in {result['never_replied']}; stored as "
        + ", ".join(f"{status} {count}" for status, count in result["stored_as"].items()),
        f"engine down {result['engine_down_seconds']} s, app down {result['app_down_seconds']} s",
        "",
        f"{'phase':<24}{'replies':>8}{'p50 ms':>9}{'p99 ms':>9}",
    ]
    order = [
        "before engine restart",
        "during engine restart",
        "between restarts",
        "during app restart",
        "after app restart",
    ]
    for name in order:
        figures = result["latency"].get(name)
        if figures:
            lines.append(
                f"{name:<24}{figures['count']:>8}{figures['p50_ms']:>9}{figures['p99_ms']:>9}"
            )
    memory = result["memory_kib"]
    lines += [
        "",
        f"app memory: {memory['app_start'] // 1024} MiB at start, "
        f"{memory['app_before_restart'] // 1024} MiB before its restart "
        f"({result['app_growth_percent']:+.1f}%), {memory['app_end'] // 1024} MiB at the end",
        f"engine memory: {memory['engine_start'] // 1024} MiB at start, "
        f"{memory['engine_after_restart'] // 1024} MiB after its restart, "
        f"{memory['engine_end'] // 1024} MiB at the end ({result['engine_growth_percent']:+.1f}%)",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--workers", type=int, default=24)
    parser.add_argument("--think", type=float, nargs=2, default=(3.0, 8.0))
    parser.add_argument("--write-docs", action="store_true")
    arguments = parser.parse_args()
    result = asyncio.run(run(arguments.minutes, arguments.workers, tuple(arguments.think)))
    text_report = report(result)
    print(text_report)
    print(json.dumps(result))
    if arguments.write_docs:
        DOCS.write_text(
            "# Soak benchmark: last run\n\n"
            "`bench/soak.py`: steady LINE and Telegram traffic through signed webhooks to "
            "the real app and engine, the engine restarted once and the app once. "
            "Latency is from a worker's first send to the first reply at the stand-in.\n\n"
            f"```\n{text_report}\n```\n\n"
            "## How to read it\n\n"
            "- *accepted*: messages the app answered 200 for (a refused or unreachable "
            "send is sent again with the same event id, as LINE and Telegram redeliver). "
            "*lost*: accepted but not stored, stored but never handled, or a reply that "
            "never reached the stand-in. *duplicated*: a message stored twice, or more "
            "replies at the stand-in than the hotline wrote.\n"
            "- *no reply at the stand-in*: accepted messages after which the worker saw "
            "nothing new within three minutes. *stored as* says why: `answered` by the "
            "bot, `rate_limited` (a worker writing faster than the flood limit is asked "
            "once to slow down, and what they send is kept), `for_staff` (a message the "
            "engine read as a request for a person, or danger words: the worker is "
            "queued for staff and the bot stays silent by design).\n"
            "- Latency is per phase: before, during (until 20 s after it is back) and "
            "after each restart. Memory is the resident size of each process at the "
            "start and end of its longest uninterrupted stretch.\n\n"
            "    .venv/bin/python bench/soak.py [--minutes 12] [--workers 24] [--write-docs]\n"
        )


if __name__ == "__main__":
    main()
