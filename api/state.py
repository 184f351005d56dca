"""What the app holds for its lifetime, built in the lifespan, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from rasa_sdk.executor import ActionExecutor
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.channels import close_channels, open_channels
from api.console_wording import ConsoleWording
from api.rate_limit import WebchatLimits, buckets_for
from bot.answering import Answering
from bot.attachments import AttachmentStore
from bot.cases.contact import PhoneNumbers
from bot.cases.service import CaseWork
from bot.channels.base import ChannelAdapter
from bot.danger import DangerDetector
from bot.danger.alarms import AlarmReview
from bot.danger.replies import DangerReplies
from bot.dialogue import Dialogue
from bot.engine import EngineClient
from bot.handoff.events import HandoffEvents
from bot.handoff.service import Handoff
from bot.inbox import Inbox, Intake
from bot.latin_language import LatinLanguageModel
from bot.leases import Leases, holder_name
from bot.outbox import Outbox, RetryPolicy
from bot.privacy.service import DataKeeping
from bot.provinces import ProvinceNames
from bot.responses import Responses
from bot.staff.service import LoginPolicy, StaffAccounts
from bot.stats.service import Statistics
from bot.texts import Texts
from bot.understanding.service import Understanding
from core.database import create_engine, create_reading_sessionmaker, create_sessionmaker, libpq_url
from core.settings import Settings
from flows.actions import build_actions
from flows.actions.context import ActionContext


@dataclass
class AppState:
    settings: Settings
    database: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # For reads only (see `create_reading_sessionmaker`).
    reading: async_sessionmaker[AsyncSession]
    texts: Texts
    responses: Responses
    provinces: ProvinceNames
    engine: EngineClient
    dialogue: Dialogue
    actions: ActionExecutor
    # The channels with credentials, by name (`api/channels.py`).
    channels: dict[str, ChannelAdapter]
    answering: Answering
    outbox: Outbox
    # LINE and Telegram deliveries, on disk before their 200, then stored.
    inbox: Inbox
    intake: Intake
    handoff: Handoff
    # Workers' files, decrypted for staff by the console's attachment endpoint.
    attachments: AttachmentStore
    keeping: DataKeeping
    # Work one app process among several does alone (bot/leases.py).
    leases: Leases
    # Staff accounts, sign-in and API tokens.
    accounts: StaffAccounts
    # Cases as staff find, read, change and export them.
    cases: CaseWork
    alarm_review: AlarmReview
    # The staff console's own words, in English and each catalogued language.
    console_wording: ConsoleWording
    # Phone numbers as the engine reads them: kept out of referrals without consent.
    phone_numbers: PhoneNumbers
    # How fast the web chat may be used (it needs no account), and what a
    # refused message read as danger still gets: the emergency numbers.
    webchat_limits: WebchatLimits
    danger: DangerDetector
    danger_replies: DangerReplies
    # What the engine understood of each worker message, kept as it says so.
    understanding: Understanding
    # The supervisors' figures (counts only).
    statistics: Statistics


def engine_client(settings: Settings) -> EngineClient:
    token = settings.hotline_engine_token
    return EngineClient(
        base_url=settings.rasa_url,
        timeout=settings.hotline_engine_timeout_seconds,
        token=token.get_secret_value() if token else None,
    )


@asynccontextmanager
async def open_state(
    settings: Settings, *, telegram_polling: bool = False
) -> AsyncIterator[AppState]:
    """Everything the hotline runs on, opened in order and closed in reverse."""
    vault = settings.vault()
    database = create_engine(
        settings.hotline_database_url, vault, connections=settings.hotline_database_connections
    )
    sessions = create_sessionmaker(database)
    reading = create_reading_sessionmaker(database)
    texts = Texts(settings.hotline_locales_dir)
    responses = Responses(settings.hotline_domain_file, texts)
    engine = engine_client(settings)
    channels = await open_channels(settings, polling=telegram_polling)
    attachments = AttachmentStore(settings.hotline_attachments_dir, vault)
    # PostgreSQL is what several app processes share; the embedded default
    # runs one.
    shared = database.dialect.name == "postgresql"
    this_process = holder_name()
    # The console's live events: the outbox tells of replies sent and failed;
    # with several processes they reach consoles connected to any of them.
    events = HandoffEvents(
        shared_through=libpq_url(settings.hotline_database_url) if shared else None,
        origin=this_process,
    )
    await events.open()
    # Work that one app process among several must do alone.
    leases = Leases(sessions=sessions, holder=this_process, enabled=shared)
    # The one way replies leave: bot answers, staff replies, closings,
    # alerts and retries alike.
    outbox = Outbox(
        sessions=sessions,
        reading=reading,
        adapters=channels,
        policy=RetryPolicy(
            max_attempts=settings.hotline_delivery_attempts,
            base_delay=settings.hotline_delivery_base_delay_seconds,
        ),
        events=events,
        leases=leases,
    )
    handoff = Handoff(
        sessions=sessions,
        events=events,
        texts=texts,
        engine=engine,
        outbox=outbox,
        leases=leases,
        settings=settings,
    )
    actions = ActionExecutor()
    context = ActionContext(
        sessions=sessions,
        settings=settings,
        handoff=handoff,
        # The actions' own responses sit beside the domain's.
        replies=Responses(settings.hotline_domain_file.parent / "responses.yml", texts),
        texts=texts,
    )
    for action in build_actions(context):
        actions.register_action(action)
    danger = DangerDetector.from_content(
        settings.hotline_content_dir,
        settings.hotline_nlu_data_dir,
        cache_dir=settings.hotline_danger_cache_dir,
    )
    danger_replies = DangerReplies(texts=texts, responses=responses)
    dialogue = Dialogue(
        sessions=sessions,
        reading=reading,
        engine=engine,
        texts=texts,
        latin=LatinLanguageModel.from_training_data(settings.hotline_nlu_data_dir),
        responses=responses,
        danger=danger,
        danger_replies=danger_replies,
        attachments=attachments,
        adapters=channels,
        outbox=outbox,
        handoff=handoff,
        settings=settings,
    )
    answering = Answering(
        dialogue=dialogue,
        outbox=outbox,
        adapters=channels,
        sessions=sessions,
        engine=engine,
        leases=leases,
        sweep_seconds=settings.hotline_delivery_sweep_seconds,
        turns_at_once=settings.hotline_engine_turns_at_once,
    )
    inbox = Inbox(settings.hotline_inbox_dir, vault)
    state = AppState(
        settings=settings,
        database=database,
        sessions=sessions,
        reading=reading,
        texts=texts,
        responses=responses,
        provinces=ProvinceNames(settings.hotline_nlu_data_dir / "provinces.yml"),
        engine=engine,
        dialogue=dialogue,
        actions=actions,
        channels=channels,
        answering=answering,
        outbox=outbox,
        inbox=inbox,
        intake=Intake(inbox=inbox, dialogue=dialogue, answering=answering, texts=texts),
        handoff=handoff,
        attachments=attachments,
        leases=leases,
        keeping=DataKeeping(
            sessions=sessions, attachments=attachments, leases=leases, settings=settings
        ),
        accounts=StaffAccounts(sessions=sessions, policy=LoginPolicy.from_settings(settings)),
        cases=CaseWork(sessions=sessions),
        alarm_review=AlarmReview(sessions=sessions),
        console_wording=ConsoleWording(settings.hotline_locales_dir),
        phone_numbers=PhoneNumbers.from_training_data(
            settings.hotline_nlu_data_dir / "patterns.yml"
        ),
        webchat_limits=WebchatLimits(
            address_per_minute=settings.hotline_webchat_address_messages_per_minute,
            address_burst=settings.hotline_webchat_address_burst,
            overall_per_minute=settings.hotline_webchat_messages_per_minute,
            overall_burst=settings.hotline_webchat_burst,
            polls_per_minute=settings.hotline_webchat_address_polls_per_minute,
            buckets=buckets_for(settings.hotline_redis_url),
        ),
        danger=danger,
        danger_replies=danger_replies,
        understanding=Understanding(sessions=sessions),
        statistics=Statistics(
            sessions=sessions,
            timezone=settings.hotline_timezone,
            default_language=settings.hotline_default_language,
        ),
    )
    try:
        yield state
    finally:
        await state.webchat_limits.close()
        await state.keeping.close()
        await handoff.close_background()
        await state.intake.close()
        await answering.close()
        await outbox.close()
        await events.close()
        await close_channels(channels)
        await engine.close()
        await database.dispose()


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.hotline
    return state


StateDep = Annotated[AppState, Depends(get_state)]
