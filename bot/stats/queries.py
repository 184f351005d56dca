"""Reading the figures of a period: counts and durations only.

The functions take the caller's session (`session=`), never commit and
write no audit entry: `Statistics` (`service.py`) owns the unit of work.
They read narrow rows (times, ids, codes; never a worker's words, which
stay encrypted and unread) and count in Python: days in the hotline's time
zone, medians and percentiles come out the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversations.models import Conversation, Direction, Message, MessageKind, Worker
from bot.handoff.models import HandoffRecord
from bot.language import effective_language
from bot.understanding.models import MessageUnderstanding

# The public taxonomy (docs/intents.md): the names the statistics report.
TAXONOMY = (
    "greet",
    "goodbye",
    "thanks",
    "affirm",
    "deny",
    "choose_language",
    "request_human",
    "emergency",
    "check_case_status",
    "out_of_scope",
    "ask_wage_info",
    "ask_working_hours",
    "ask_documents",
    "ask_change_employer",
    "ask_social_security",
    "ask_fishing_rights",
    "ask_hotlines",
    "ask_dismissal",
    "report_abuse",
    "report_unpaid_wages",
    "report_document_confiscation",
    "report_violence",
    "report_forced_labour",
)
# What the engine says when no intent is sure enough (its FallbackClassifier).
FALLBACK = "nlu_fallback"
# Intents outside the taxonomy (the hotline's own buttons) count together.
OTHER = "other"
# Messages the engine never read: for staff, media, sent too fast, engine down.
NOT_SEEN = "not_seen"
# The order the intents are shown in.
INTENT_GROUPS = (*TAXONOMY, FALLBACK, OTHER, NOT_SEEN)
# A message counts as not understood when the engine fell back, read it as
# out of scope, or chose its intent with less confidence than this.
LOW_CONFIDENCE = 0.5
NOT_UNDERSTOOD_INTENTS = frozenset({FALLBACK, "out_of_scope"})
# The longest period one view reads.
LONGEST_PERIOD_DAYS = 366


class Grain(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class StatsFilter:
    """A period in local dates (both days included), how it is cut, and what is counted."""

    start: date
    end: date
    grain: Grain = Grain.DAY
    channel: str | None = None
    language: str | None = None

    def as_detail(self) -> dict[str, str]:
        detail = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        detail["grain"] = self.grain.value
        if self.channel:
            detail["channel"] = self.channel
        if self.language:
            detail["language"] = self.language
        return detail


@dataclass(frozen=True)
class Bucket:
    """One day, week (from its Monday) or month (from its first day)."""

    start: date
    messages: int
    workers: int


@dataclass(frozen=True)
class Durations:
    """Seconds; None when nothing was measured."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Figures:
    wanted: StatsFilter
    series: list[Bucket]
    messages: int
    workers: int
    # Intent name (TAXONOMY, FALLBACK, OTHER, NOT_SEEN) -> messages.
    by_intent: dict[str, int]
    by_language: dict[str, int]
    by_channel: dict[str, int]
    # Of the messages the engine read, how many it did not understand.
    read_by_engine: int
    not_understood: int
    handoffs: int
    # Queued until first claimed; claimed until closed.
    wait: Durations
    handling: Durations
    # Handoffs of the period still waiting for a claim.
    unclaimed: int = 0

    @property
    def not_understood_share(self) -> float | None:
        return self.not_understood / self.read_by_engine if self.read_by_engine else None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks (as numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def durations(seconds: Iterable[float]) -> Durations:
    values = [value for value in seconds if value >= 0]
    return Durations(len(values), percentile(values, 0.5), percentile(values, 0.9))


def bucket_of(day: date, grain: Grain) -> date:
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    return day


def buckets(wanted: StatsFilter) -> list[date]:
    """Every bucket of the period, empty ones too, in order."""
    found: list[date] = []
    day = wanted.start
    while day <= wanted.end:
        start = bucket_of(day, wanted.grain)
        if not found or found[-1] != start:
            found.append(start)
        day += timedelta(days=1)
    return found


def is_not_understood(intent: str | None, confidence: float | None) -> bool:
    return intent in NOT_UNDERSTOOD_INTENTS or (confidence or 0.0) < LOW_CONFIDENCE


def intent_group(intent: str | None, read: bool) -> str:
    if not read:
        return NOT_SEEN
    if intent in TAXONOMY or intent == FALLBACK:
        return str(intent)
    return OTHER


def _bounds(wanted: StatsFilter, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The period in UTC: from the start day's local midnight to the day after the end."""
    start = datetime.combine(wanted.start, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(wanted.end + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def figures(
    *, session: AsyncSession, wanted: StatsFilter, timezone: str, default_language: str
) -> Figures:
    zone = ZoneInfo(timezone)
    start, end = _bounds(wanted, zone)
    messages = (
        select(
            Message.created_at,
            Conversation.worker_id,
            Conversation.channel,
            Message.language,
            MessageUnderstanding.id.is_not(None),
            MessageUnderstanding.intent,
            MessageUnderstanding.confidence,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(MessageUnderstanding, MessageUnderstanding.message_key == Message.engine_key)
        .where(
            Message.direction == Direction.INBOUND.value,
            Message.kind != MessageKind.UNFOLLOW.value,
            Message.created_at >= start,
            Message.created_at < end,
        )
    )
    if wanted.channel:
        messages = messages.where(Conversation.channel == wanted.channel)
    if wanted.language:
        messages = messages.where(Message.language == wanted.language)

    per_bucket: dict[date, int] = Counter()
    workers_per_bucket: dict[date, set[int]] = {}
    workers: set[int] = set()
    by_intent: Counter[str] = Counter(dict.fromkeys(INTENT_GROUPS, 0))
    by_language: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    total = read_by_engine = not_understood = 0
    for at, worker_id, channel, language, read, intent, confidence in await session.execute(
        messages
    ):
        total += 1
        bucket = bucket_of(_aware(at).astimezone(zone).date(), wanted.grain)
        per_bucket[bucket] += 1
        workers_per_bucket.setdefault(bucket, set()).add(worker_id)
        workers.add(worker_id)
        by_intent[intent_group(intent, bool(read))] += 1
        by_language[language or "unknown"] += 1
        by_channel[channel] += 1
        if read:
            read_by_engine += 1
            not_understood += is_not_understood(intent, confidence)

    handoffs = (
        select(
            HandoffRecord.escalated_at,
            HandoffRecord.first_claimed_at,
            HandoffRecord.closed_at,
            Worker.language_choice,
            Worker.language_detected,
            Worker.language_hint,
        )
        .join(Conversation, Conversation.id == HandoffRecord.conversation_id)
        .join(Worker, Worker.id == Conversation.worker_id)
        .where(HandoffRecord.escalated_at >= start, HandoffRecord.escalated_at < end)
    )
    if wanted.channel:
        handoffs = handoffs.where(Conversation.channel == wanted.channel)
    waits: list[float] = []
    handling: list[float] = []
    count = unclaimed = 0
    for escalated, claimed, closed, choice, detected, hint in await session.execute(handoffs):
        language = effective_language(
            choice=choice, detected=detected, hint=hint, default=default_language
        )
        if wanted.language and language != wanted.language:
            continue
        count += 1
        if claimed is None:
            unclaimed += 1
            continue
        waits.append((_aware(claimed) - _aware(escalated)).total_seconds())
        if closed is not None:
            handling.append((_aware(closed) - _aware(claimed)).total_seconds())

    return Figures(
        wanted=wanted,
        series=[
            Bucket(day, per_bucket.get(day, 0), len(workers_per_bucket.get(day, ())))
            for day in buckets(wanted)
        ],
        messages=total,
        workers=len(workers),
        by_intent=dict(by_intent),
        by_language=dict(by_language.most_common()),
        by_channel=dict(by_channel.most_common()),
        read_by_engine=read_by_engine,
        not_understood=not_understood,
        handoffs=count,
        wait=durations(waits),
        handling=durations(handling),
        unclaimed=unclaimed,
    )
