"""The FastAPI app: channels, the engine's NLG and action endpoints, health."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from api import access_log, console, engine_hooks, health, webchat, webhooks
from api.limits import BodySizeLimit
from api.state import open_state
from bot.background import stop_tasks
from bot.channels.telegram import TelegramChannel
from bot.leases import Leases, NotLeading, keep_leading
from core.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    telegram_polling: bool = False,
    freeze_start_up: bool = False,
) -> FastAPI:
    """The app; with `telegram_polling` Telegram is read by long polling, not a webhook.

    `freeze_start_up`: the serving process keeps what start-up built out of
    the garbage collector's reach (see below); tests, which start many apps
    in one process, do not.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # After the server has set up its logging: the web chat's queries
        # stay out of the access log.
        access_log.install()
        async with open_state(settings, telegram_polling=telegram_polling) as state:
            app.state.hotline = state
            # Answer what was stored but not answered before a restart, then
            # keep sweeping for it (and for the engine's return). A database
            # that is down at start must not keep the app from answering 503.
            try:
                await state.intake.store_waiting()
                await state.answering.recover()
            except (OperationalError, DBAPIError, OSError) as error:
                logger.error("recovery postponed, database unavailable: %s", type(error).__name__)
            state.intake.start()
            state.answering.start()
            state.handoff.start()
            state.keeping.start()
            if freeze_start_up:
                # What start-up built (models, catalogs, the SDKs) lives as
                # long as the app. Kept out of the collector's reach, a full
                # collection no longer walks it: its pauses of a fifth of a
                # second, which every webhook arriving meanwhile waited out,
                # become a few milliseconds.
                gc.collect()
                gc.freeze()
            telegram = state.channels.get(TelegramChannel.name)
            poller: asyncio.Task[None] | None = None
            if telegram_polling and isinstance(telegram, TelegramChannel):
                poller = await _lead_telegram_polling(state.leases, telegram)
                await telegram.start_polling(state.intake)
            try:
                yield
            finally:
                # No update is fetched while the rest closes.
                if isinstance(telegram, TelegramChannel):
                    await telegram.stop_polling()
                await stop_tasks([poller])
                if poller is not None:
                    # The next process (a restart, a new version) polls at once.
                    await state.leases.drop("poll:telegram")

    # Swagger UI and ReDoc load their scripts from a CDN, on the console's own
    # origin: in production the API is described by /openapi.json alone.
    pages = settings.hotline_environment == "development"
    app = FastAPI(
        title="Migrant workers' hotline",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if pages else None,
        redoc_url="/redoc" if pages else None,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.hotline_max_body_bytes)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
        # Nothing was acknowledged: LINE and Telegram deliver again on 503.
        logger.error("database unavailable: %s", type(error).__name__)
        return JSONResponse({"detail": "temporarily unavailable"}, status_code=503)

    app.include_router(health.router)
    app.include_router(webchat.router)
    app.include_router(webhooks.router)
    app.include_router(engine_hooks.router)
    app.mount("/chat/static", StaticFiles(directory=webchat.STATIC_DIR), name="chat-static")
    console.install(app)
    return app


# Telegram hands each update to whichever poller asks: two would split a
# worker's messages between them. A poller that dies is replaced this soon.
POLLING_LEASE = timedelta(seconds=60)


async def _lead_telegram_polling(leases: Leases, telegram: TelegramChannel) -> asyncio.Task[None]:
    """Refuse to poll Telegram beside another app process that does; keep the
    lease while polling, and stop polling if it is ever lost."""
    if not await leases.lead("poll:telegram", lease_time=POLLING_LEASE):
        raise NotLeading(
            "another app process polls Telegram: poll from one process only, "
            "or give Telegram the webhook"
        )

    async def keep() -> None:
        try:
            await keep_leading(leases, "poll:telegram", lease_time=POLLING_LEASE)
        except NotLeading:
            logger.critical("Telegram polling lease lost to another process: polling stops here")
            await telegram.stop_polling()

    return asyncio.create_task(keep(), name="telegram-polling-lease")
