"""The supervisors' dashboard: counts and durations of a period, as charts,
a CSV file and JSON. Never a worker's words.

What is counted is explained in `bot/stats/queries.py`; how to read it in
the README ("The dashboard").
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from api.console.deps import SupervisorDep
from api.console.pages import render, wording_of
from api.state import AppState, StateDep
from bot.labels import INTENTS, WORKER_LANGUAGES
from bot.language import LANGUAGES
from bot.stats import queries
from bot.stats.queries import Figures, Grain, StatsFilter
from core.errors import InvalidInput
from core.translation import N_

pages = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/api/stats", tags=["stats"])

# The channels a worker writes on (bot/channels, and the web chat).
CHANNELS = ("line", "telegram", "webchat")
# What a view shows without a chosen period: the last 30 days, by day.
DEFAULT_DAYS = 30
GRAINS = {
    Grain.DAY: N_("day"),
    Grain.WEEK: N_("week"),
    Grain.MONTH: N_("month"),
}
INTENT_GROUPS = {
    **INTENTS,
    queries.FALLBACK: N_("not understood (fallback)"),
    queries.OTHER: N_("the hotline's own buttons"),
    queries.NOT_SEEN: N_("not read by the engine"),
}


class DurationsOut(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None


class BucketOut(BaseModel):
    start: date
    messages: int
    workers: int


class StatsOut(BaseModel):
    start: date
    end: date
    grain: Grain
    channel: str | None
    language: str | None
    series: list[BucketOut]
    messages: int
    workers: int
    by_intent: dict[str, int]
    by_language: dict[str, int]
    by_channel: dict[str, int]
    read_by_engine: int
    not_understood: int
    not_understood_share: float | None
    low_confidence_below: float
    handoffs: int
    unclaimed: int
    wait: DurationsOut
    handling: DurationsOut


def _wanted(
    state: AppState,
    start: date | None,
    end: date | None,
    grain: Grain,
    channel: str | None,
    language: str | None,
) -> StatsFilter:
    today = datetime.now(ZoneInfo(state.settings.hotline_timezone)).date()
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end or (end - start).days >= queries.LONGEST_PERIOD_DAYS:
        raise InvalidInput(
            "a period starts on or before its end and spans at most %(days)s days",
            days=queries.LONGEST_PERIOD_DAYS,
        )
    return StatsFilter(
        start=start,
        end=end,
        grain=grain,
        channel=channel or None,
        language=language or None,
    )


def _out(found: Figures) -> StatsOut:
    wanted = found.wanted
    return StatsOut(
        start=wanted.start,
        end=wanted.end,
        grain=wanted.grain,
        channel=wanted.channel,
        language=wanted.language,
        series=[
            BucketOut(start=b.start, messages=b.messages, workers=b.workers) for b in found.series
        ],
        messages=found.messages,
        workers=found.workers,
        by_intent=found.by_intent,
        by_language=found.by_language,
        by_channel=found.by_channel,
        read_by_engine=found.read_by_engine,
        not_understood=found.not_understood,
        not_understood_share=found.not_understood_share,
        low_confidence_below=queries.LOW_CONFIDENCE,
        handoffs=found.handoffs,
        unclaimed=found.unclaimed,
        wait=DurationsOut(
            count=found.wait.count, median_seconds=found.wait.median, p90_seconds=found.wait.p90
        ),
        handling=DurationsOut(
            count=found.handling.count,
            median_seconds=found.handling.median,
            p90_seconds=found.handling.p90,
        ),
    )


# The same filter on every way in.
Start = Annotated[date | None, Query(description="First local day (default: 29 days before end)")]
End = Annotated[date | None, Query(description="Last local day, included (default: today)")]
GrainQuery = Annotated[Grain, Query(description="How the series is cut")]
Channel = Annotated[str | None, Query(description="Only this channel (line, telegram, webchat)")]
Language = Annotated[str | None, Query(description="Only messages in this language")]


@api.get("")
async def stats(
    state: StateDep,
    caller: SupervisorDep,
    start: Start = None,
    end: End = None,
    grain: GrainQuery = Grain.DAY,
    channel: Channel = None,
    language: Language = None,
) -> StatsOut:
    """Messages, workers, intents, languages, channels, what the engine did not
    understand, and handoffs' wait and handling times for a period (supervisors).
    Counts only."""
    wanted = _wanted(state, start, end, grain, channel, language)
    return _out(await state.statistics.figures(viewer=caller, wanted=wanted))


@api.get(".csv", response_class=Response)
async def stats_csv_api(
    state: StateDep,
    caller: SupervisorDep,
    start: Start = None,
    end: End = None,
    grain: GrainQuery = Grain.DAY,
    channel: Channel = None,
    language: Language = None,
) -> Response:
    """The same figures as CSV: one row per figure, period and key (supervisors)."""
    wanted = _wanted(state, start, end, grain, channel, language)
    return _csv(await state.statistics.csv(viewer=caller, wanted=wanted), wanted)


def _csv(text: str, wanted: StatsFilter) -> Response:
    name = f"hotline-stats-{wanted.start.isoformat()}-{wanted.end.isoformat()}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@pages.get("/stats.csv", response_class=Response)
async def stats_csv_page(
    state: StateDep,
    caller: SupervisorDep,
    start: Start = None,
    end: End = None,
    grain: GrainQuery = Grain.DAY,
    channel: Channel = None,
    language: Language = None,
) -> Response:
    wanted = _wanted(state, start, end, grain, channel, language)
    return _csv(await state.statistics.csv(viewer=caller, wanted=wanted), wanted)


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


@pages.get("/stats", response_class=HTMLResponse)
async def stats_page(
    request: Request,
    state: StateDep,
    caller: SupervisorDep,
    start: Start = None,
    end: End = None,
    grain: GrainQuery = Grain.DAY,
    channel: Channel = None,
    language: Language = None,
) -> HTMLResponse:
    wanted = _wanted(state, start, end, grain, channel, language)
    found = await state.statistics.figures(viewer=caller, wanted=wanted)
    _ = wording_of(request)._
    query = {key: value for key, value in wanted.as_detail().items() if value}
    intents = [
        (name, _(INTENT_GROUPS.get(name, name)), count) for name, count in found.by_intent.items()
    ]
    languages = [
        (code, _(WORKER_LANGUAGES.get(code, code)), count)
        for code, count in found.by_language.items()
    ]
    charts: dict[str, Any] = {
        "series": {
            "labels": [bucket.start.isoformat() for bucket in found.series],
            "datasets": [
                {"label": _("Messages"), "data": [b.messages for b in found.series]},
                {"label": _("Workers"), "data": [b.workers for b in found.series]},
            ],
        },
        "intents": {
            "labels": [label for _name, label, _count in intents],
            "datasets": [{"label": _("Messages"), "data": [c for *_, c in intents]}],
        },
        "languages": {
            "labels": [label for _code, label, _count in languages],
            "datasets": [{"label": _("Messages"), "data": [c for *_, c in languages]}],
        },
        "channels": {
            "labels": list(found.by_channel),
            "datasets": [{"label": _("Messages"), "data": list(found.by_channel.values())}],
        },
    }
    share = found.not_understood_share
    return render(
        request,
        "stats.html",
        caller=caller,
        wanted=wanted,
        found=found,
        grains=GRAINS,
        channels=CHANNELS,
        languages={code: WORKER_LANGUAGES[code] for code in LANGUAGES},
        intents=intents,
        by_language=languages,
        charts=charts,
        share="–" if share is None else f"{share * 100:.1f}",
        low_confidence=f"{queries.LOW_CONFIDENCE * 100:.0f}",
        wait=(_minutes(found.wait.median), _minutes(found.wait.p90)),
        handling=(_minutes(found.handling.median), _minutes(found.handling.p90)),
        csv_link="/console/stats.csv?" + urlencode(query),
    )


routers = [pages, api]
