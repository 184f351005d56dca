"""The FastAPI app: channels, the engine's NLG and action endpoints, health."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from api import access_log, console, engine_hooks, health, webchat, webhooks
from api.limits import BodySizeLimit
from api.state import open_state
from bot.channels.telegram import TelegramChannel
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
            if telegram_polling and isinstance(telegram, TelegramChannel):
                await telegram.start_polling(state.intake)
            try:
                yield
            finally:
                # No update is fetched while the rest closes.
                if isinstance(telegram, TelegramChannel):
                    await telegram.stop_polling()

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
